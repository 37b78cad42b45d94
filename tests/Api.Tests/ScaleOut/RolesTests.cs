using System.Net;
using FitService.Api.Tests.Infrastructure;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace FitService.Api.Tests.ScaleOut;

/// <summary>One program, three roles chosen by configuration: embedded (both), API-only (Workers:Count=0), worker-only (Api:Enabled=false).</summary>
public sealed class RolesTests
{
    [Fact]
    public async Task AWorkerOnlyProcessServesHealthAndMetricsButNoApi()
    {
        await using var factory = new FitServiceFactory(("Api:Enabled", "false"));
        var client = factory.CreateClient();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/v1/fits")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostFit(TestApi.SmallFit())).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/swagger/v1/swagger.json")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/hangfire")).StatusCode);
        Assert.Contains(factory.Services.GetServices<IHostedService>(), s => s.GetType().Name == "BackgroundJobServerHostedService");
    }

    [Fact]
    public async Task AnApiOnlyProcessAcceptsFitsButRunsNone()
    {
        await using var factory = new FitServiceFactory(("Workers:Count", "0"));
        var client = factory.CreateClient();

        var fit = await (await client.PostFit(TestApi.SmallFit())).ReadFit();
        await Task.Delay(500);

        Assert.Equal("queued", (await client.GetFromJsonAsync<FitResource>($"/v1/fits/{fit.Id}", TestApi.Json))!.Status);
        Assert.DoesNotContain(factory.Services.GetServices<IHostedService>(), s => s.GetType().Name == "BackgroundJobServerHostedService");
        Assert.Single(factory.Services.GetRequiredService<JobStorage>().GetMonitoringApi().EnqueuedJobs("fits", 0, 10));
    }
}
