namespace FitService.Client.Tests;

public class ServerSentEventsTests
{
    private static async Task<List<ServerSentEvent>> Read(string stream)
    {
        var events = new List<ServerSentEvent>();
        await foreach (var e in ServerSentEvents.ReadAsync(new StringReader(stream)))
            events.Add(e);
        return events;
    }

    [Fact]
    public async Task ReadsNamedEventsSeparatedByBlankLines()
    {
        var events = await Read("event: progress\ndata: {\"step\":5}\n\n: keep-alive\n\nevent: end\ndata: {\"id\":\"f\"}\n\n");
        Assert.Equal([new("progress", "{\"step\":5}", null, null), new("end", "{\"id\":\"f\"}", null, null)], events);
    }

    [Fact]
    public async Task JoinsDataLinesAndDefaultsTheEventName()
    {
        var events = await Read("data:a\ndata: b\r\n\r\n");
        Assert.Equal([new("message", "a\nb", null, null)], events);
    }

    [Fact]
    public async Task TheLastEventIdCarriesOverAndRetrySetsTheReconnectDelay()
    {
        var events = await Read("id: 7\nretry: 2500\nevent: progress\ndata: a\n\nevent: progress\ndata: b\n\n");
        Assert.Equal([new("progress", "a", "7", TimeSpan.FromMilliseconds(2500)), new("progress", "b", "7", TimeSpan.FromMilliseconds(2500))], events);
    }

    [Fact]
    public async Task DropsAnEventTheStreamCutOff()
    {
        Assert.Empty(await Read("event: progress\ndata: {\"step\":5}"));
    }
}
