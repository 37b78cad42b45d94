using FitService.Api.Jobs;
using FitService.Api.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FitService.Api.Tests.Jobs;

/// <summary><c>Retention:Tenants:{tenant}:*</c> binds from configuration, and a value no sweep could use stops the start, naming its key.</summary>
public sealed class RetentionSettingsTests
{
    [Fact]
    public async Task ATenantsOwnRetentionBindsFromConfigurationAndLeavesTheOtherStatusesToTheDefault()
    {
        await using var factory = new FitServiceFactory(("Retention:Tenants:acme:FailedDays", "7"), ("Retention:Tenants:acme:SucceededDays", "0"));
        factory.CreateClient();

        var options = factory.Services.GetRequiredService<IOptions<RetentionOptions>>().Value;
        var acme = Assert.Single(options.Tenants);
        Assert.Equal("acme", acme.Key);
        Assert.Equal(7, acme.Value.FailedDays);
        Assert.Equal(0, acme.Value.SucceededDays);
        Assert.Null(acme.Value.CancelledDays);
    }

    [Theory]
    [InlineData("Retention:Tenants:acme:SucceededDays", "-1")]
    [InlineData("Retention:Tenants:acme:CancelledDays", "NaN")]
    [InlineData("Retention:Tenants:acme:FailedDays", "1e9")]
    [InlineData("Retention:FailedDays", "-0.5")]
    [InlineData("Retention:BatchSize", "0")]
    [InlineData("Retention:IntervalSeconds", "0")]
    public void ARetentionNoSweepCouldUseIsAnErrorNamingItsKey(string key, string value)
    {
        var options = new ConfigurationBuilder().AddInMemoryCollection([new(key, value)]).Build()
            .GetSection(RetentionOptions.Section).Get<RetentionOptions>()!;

        var error = Assert.Single(RetentionPlan.Errors(options));
        Assert.StartsWith(key + " must be", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheServiceRefusesToStartWithANegativeTenantRetentionAndNamesTheKey()
    {
        await using var service = await ServiceProcess.LaunchAsync("Retention:Tenants:acme:SucceededDays=-1");
        Assert.True(await service.WaitForExitAsync(TimeSpan.FromSeconds(60)), "the service kept running:\n" + service.Output);
        Assert.NotEqual(0, service.ExitCode);
        Assert.Contains("Retention:Tenants:acme:SucceededDays must be", service.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void TheDefaultsAndUnsetTenantValuesAreValid()
    {
        var options = new RetentionOptions { Tenants = new() { ["acme"] = new TenantRetention { FailedDays = 0 } } };
        Assert.Empty(RetentionPlan.Errors(options));
    }
}
