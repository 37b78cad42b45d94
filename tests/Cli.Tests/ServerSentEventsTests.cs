using FitService.Cli.Client;

namespace FitService.Cli.Tests;

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
        Assert.Equal([new("progress", "{\"step\":5}"), new("end", "{\"id\":\"f\"}")], events);
    }

    [Fact]
    public async Task JoinsDataLinesAndDefaultsTheEventName()
    {
        var events = await Read("data:a\ndata: b\r\n\r\n");
        Assert.Equal([new("message", "a\nb")], events);
    }

    [Fact]
    public async Task DropsAnEventTheStreamCutOff()
    {
        Assert.Empty(await Read("event: progress\ndata: {\"step\":5}"));
    }
}
