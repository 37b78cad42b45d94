using System.Runtime.CompilerServices;
using System.Text;

namespace FitService.Client;

/// <summary>One dispatched event of a <c>text/event-stream</c>.</summary>
internal sealed record ServerSentEvent(string Event, string Data, string? Id, TimeSpan? Retry);

/// <summary>Reads a <c>text/event-stream</c> as the HTML standard describes (event, data, id, retry, comments; a blank line dispatches).</summary>
internal static class ServerSentEvents
{
    /// <param name="reader">The stream's text.</param>
    /// <param name="onLine">Called after every line read, comments (keep-alives) included: the caller's sign of life.</param>
    /// <param name="cancellationToken">Stops reading.</param>
    public static async IAsyncEnumerable<ServerSentEvent> ReadAsync(TextReader reader, Action? onLine = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var eventName = "";
        var data = new StringBuilder();
        var hasData = false;
        string? id = null;
        TimeSpan? retry = null;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            onLine?.Invoke();
            if (line.Length == 0)
            {
                if (hasData)
                    yield return new ServerSentEvent(eventName.Length == 0 ? "message" : eventName, data.ToString(), id, retry);
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
                case "id" when !value.Contains('\0'):
                    id = value; // the last event id persists across events, as in the standard
                    break;
                case "retry" when int.TryParse(value, out var ms) && ms >= 0:
                    retry = TimeSpan.FromMilliseconds(ms);
                    break;
            }
        }
    }
}
