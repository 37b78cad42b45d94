using System.Net;
using System.Text.Json;
using FitService.Api.Tests.Infrastructure;

namespace FitService.Api.Tests.Fits;

/// <summary><c>GET /v1/fits/{id}/events</c>: a running fit's progress live, then its end.</summary>
public sealed class FitEventsTests(FitEventsTests.Service factory) : IClassFixture<FitEventsTests.Service>
{
    public sealed class Service() : FitServiceFactory(("Workers:Count", "2"));

    private readonly HttpClient _client = factory.CreateClient();

    private sealed record Sse(string? Id, string Event, string Data)
    {
        public JsonElement Json => JsonDocument.Parse(Data).RootElement;
    }

    private static object Long() => new
    {
        x = Enumerable.Range(0, 2000).Select(i => i / 1000.0).ToArray(),
        y = Enumerable.Range(0, 2000).Select(i => Math.Sin(i / 300.0)).ToArray(),
        degree = 5, loss = "mse", learningRate = 1e-4, steps = 10_000_000,
    };

    private async Task<(HttpResponseMessage Response, IAsyncEnumerator<Sse> Events)> Open(string id, string? lastEventId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/fits/{id}/events");
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (lastEventId is not null) request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
        var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        return (response, Read(response).GetAsyncEnumerator());
    }

    private static async IAsyncEnumerable<Sse> Read(HttpResponseMessage response)
    {
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        string? id = null, type = null, data = null;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.Length == 0)
            {
                if (data is not null) yield return new Sse(id, type ?? "message", data);
                id = type = data = null;
            }
            else if (line.StartsWith("id: ")) id = line[4..];
            else if (line.StartsWith("event: ")) type = line[7..];
            else if (line.StartsWith("data: ")) data = line[6..];
        }
    }

    private static async Task<Sse> Next(IAsyncEnumerator<Sse> events)
    {
        var more = await events.MoveNextAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(more, "the stream closed early");
        return events.Current;
    }

    [Fact]
    public async Task TheStreamOfARunningFitShowsProgressAndEndsWithEnd()
    {
        var fit = await (await _client.PostFit(Long())).ReadFit();
        var (response, events) = await Open(fit.Id);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);

        var first = await Next(events);
        var second = await Next(events);
        Assert.Equal(("progress", "progress"), (first.Event, second.Event));
        Assert.True(int.Parse(second.Id!) > int.Parse(first.Id!));
        Assert.Equal(int.Parse(second.Id!), second.Json.GetProperty("step").GetInt32());
        Assert.Equal(6, second.Json.GetProperty("params").GetArrayLength());
        Assert.True(second.Json.GetProperty("loss").GetDouble() > 0);

        await _client.PostAsync($"/v1/fits/{fit.Id}/cancel", null);
        Sse last;
        do last = await Next(events); while (last.Event == "progress");

        Assert.Equal("end", last.Event);
        Assert.Equal(fit.Id, last.Json.GetProperty("id").GetString());
        Assert.Equal("cancelled", last.Json.GetProperty("status").GetString());
        Assert.True(last.Json.GetProperty("history").GetArrayLength() > 0);
        Assert.False(await events.MoveNextAsync(), "the stream closes after end");
    }

    [Fact]
    public async Task AnEndedFitAnswersEndAtOnceWhateverTheLastEventId()
    {
        var fit = await (await _client.PostFit(TestApi.SmallFit(), ("Prefer", "wait=30"))).ReadFit();

        foreach (var lastEventId in new[] { null, "100", "999999" })
        {
            var (_, events) = await Open(fit.Id, lastEventId);
            var end = await Next(events);
            Assert.Equal("end", end.Event);
            Assert.Equal("succeeded", end.Json.GetProperty("status").GetString());
            Assert.Equal(100, end.Json.GetProperty("history").GetArrayLength());
            Assert.Matches(@"\.\d{3}Z$", end.Json.GetProperty("finishedAt").GetString());
            Assert.False(await events.MoveNextAsync());
        }
    }

    [Fact]
    public async Task LastEventIdResumesAfterTheStepTheClientHas()
    {
        var fit = await (await _client.PostFit(Long())).ReadFit();
        var (_, events) = await Open(fit.Id);
        var seen = await Next(events);
        await events.DisposeAsync();

        var (_, resumed) = await Open(fit.Id, seen.Id);
        var next = await Next(resumed);
        Assert.Equal("progress", next.Event);
        Assert.True(int.Parse(next.Id!) > int.Parse(seen.Id!));
        await _client.DeleteAsync($"/v1/fits/{fit.Id}");
    }

    [Fact]
    public async Task AnUnknownFitIs404()
    {
        var (response, _) = await Open("nope");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(404, (await response.ReadProblem()).GetProperty("status").GetInt32());
    }
}
