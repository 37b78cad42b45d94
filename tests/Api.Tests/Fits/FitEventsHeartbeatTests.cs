using System.Net;
using FitService.Api.Fits;
using FitService.Api.Tests.Infrastructure;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace FitService.Api.Tests.Fits;

/// <summary>The events stream of a fit that makes no progress keeps its connection alive, on the service's clock.</summary>
public sealed class FitEventsHeartbeatTests
{
    [Fact]
    public async Task AnIdleStreamSendsAKeepAliveCommentOnceTheHeartbeatIntervalHasPassed()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var factory = new FitServiceFactory(("Workers:Count", "0"));
        using var client = factory.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddSingleton<TimeProvider>(clock))).CreateClient();
        var fit = await (await client.PostFit(TestApi.SmallFit())).ReadFit(); // no worker: it stays queued, and the stream idle
        var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/fits/{fit.Id}/events");
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());

        // The clock moves a second at a time until the comment arrives: not before the interval, and long before 10 minutes.
        var started = clock.GetUtcNow();
        var line = reader.ReadLineAsync();
        for (var steps = 0; !line.IsCompleted && steps < 600; steps++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            await Task.WhenAny(line, Task.Delay(50));
        }
        Assert.True(line.IsCompleted, "no keep-alive after 600 s on the service's clock");
        Assert.Equal(": keep-alive", await line);
        Assert.InRange(clock.GetUtcNow() - started, FitEventStream.HeartbeatInterval, TimeSpan.FromSeconds(600));
    }
}
