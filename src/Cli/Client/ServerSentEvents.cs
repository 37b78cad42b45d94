using System.Runtime.CompilerServices;
using System.Text;

namespace FitService.Cli.Client;

internal sealed record ServerSentEvent(string Event, string Data);

/// <summary>Reads a <c>text/event-stream</c> as the HTML standard describes (event, data, comments; a blank line dispatches).</summary>
internal static class ServerSentEvents
{
    public static async IAsyncEnumerable<ServerSentEvent> ReadAsync(TextReader reader, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var eventName = "";
        var data = new StringBuilder();
        var hasData = false;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (hasData)
                    yield return new ServerSentEvent(eventName.Length == 0 ? "message" : eventName, data.ToString());
                eventName = "";
                data.Clear();
                hasData = false;
                continue;
            }
            if (line[0] == ':')
                continue; // comment, used as keep-alive
            var colon = line.IndexOf(':');
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..];
            if (value.StartsWith(' '))
                value = value[1..];
            switch (field)
            {
                case "event":
                    eventName = value;
                    break;
                case "data":
                    if (hasData)
                        data.Append('\n');
                    data.Append(value);
                    hasData = true;
                    break;
            }
        }
    }
}
