using System.Net;
using FitService.Api.Tests.Infrastructure;

namespace FitService.Api.Tests.Security;

/// <summary>The Hangfire dashboard behind the admin key answers every request it routes without a 5xx.</summary>
public sealed class DashboardTests(DashboardTests.KeyedService factory) : IClassFixture<DashboardTests.KeyedService>
{
    public sealed class KeyedService() : FitServiceFactory(Keys.Configured(("Workers:Count", "0")));

    private HttpClient Admin() => factory.CreateClient().WithKey(Keys.Admin);

    [Theory]
    [InlineData("/hangfire/stats")]
    [InlineData("/hangfire/jobs/enqueued/delete")]
    [InlineData("/hangfire/jobs/failed/requeue")]
    [InlineData("/hangfire/recurring/trigger")]
    public async Task ACommandRouteReadWithGetIs405NotA500(string path)
    {
        var response = await Admin().GetAsync(path);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal("POST", response.Content.Headers.Allow.Single());
    }

    [Fact]
    public async Task StatsPostedWithoutAFormIsNotA500()
    {
        var response = await Admin().PostAsync("/hangfire/stats", TestApi.JsonBody("{}"));

        Assert.True((int)response.StatusCode < 500, $"{(int)response.StatusCode}");
    }
}
