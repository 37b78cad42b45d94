using System.Data.Common;
using FitService.Api.Jobs;
using FitService.Api.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace FitService.Api.Tests.Jobs;

/// <summary>An error of the engine ends the fit at once with its reason; only infrastructure faults are retried.</summary>
public sealed class EngineErrorTests(EngineErrorTests.Service factory) : IClassFixture<EngineErrorTests.Service>
{
    public sealed class Service() : FitServiceFactory(("Workers:Count", "1"));

    private readonly HttpClient _client = factory.CreateClient();

    [Fact]
    public async Task AFitWhoseNumbersOverflowFailsAtOnceWithTheRealReason()
    {
        var body = TestApi.JsonBody("""{"x":[1,2,3],"y":[1.7e308,-1.7e308,1.7e308],"degree":2,"loss":"mse","learningRate":0.01,"steps":10}""");
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/fits") { Content = body };
        request.Headers.TryAddWithoutValidation("Prefer", "wait=30");

        var fit = await (await _client.SendAsync(request)).ReadFit();

        Assert.Equal("failed", fit.Status);
        Assert.Equal("diverged", fit.StopReason);
        Assert.DoesNotContain("could not run", fit.Error);
        // The optimum may follow the fit's end (optimumStatus "pending" first): wait for it to settle.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (fit.OptimumStatus == "pending" && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
            fit = (await _client.GetFromJsonAsync<FitResource>($"/v1/fits/{fit.Id}", TestApi.Json))!;
        }
        Assert.Equal("failed", fit.OptimumStatus);
        Assert.Contains("overflow", fit.OptimumError);
    }

    [Fact]
    public void StorageNetworkAndShutdownErrorsAreInfrastructureAndEngineErrorsAreNot()
    {
        Assert.True(FitRunner.IsInfrastructureFault(new SqliteException("database is locked", 5)));
        Assert.True(FitRunner.IsInfrastructureFault(new IOException("disk full")));
        Assert.True(FitRunner.IsInfrastructureFault(new OperationCanceledException()));
        Assert.True(FitRunner.IsInfrastructureFault(new InvalidOperationException("wrapped", new TimeoutException())));
        Assert.True(FitRunner.IsInfrastructureFault(new AggregateException(new ArgumentException("x"), new SqliteException("busy", 5))));
        Assert.IsAssignableFrom<DbException>(new SqliteException("busy", 5));

        Assert.False(FitRunner.IsInfrastructureFault(new ArgumentException("invalid fit problem")));
        Assert.False(FitRunner.IsInfrastructureFault(new IndexOutOfRangeException()));
        Assert.False(FitRunner.IsInfrastructureFault(new ArithmeticException()));
    }
}
