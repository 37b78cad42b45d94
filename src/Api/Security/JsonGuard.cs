using System.Text.Json;

namespace FitService.Api.Security;

/// <summary>
/// One cheap pass over a JSON body before it is deserialized: a string or property name longer than the limit
/// (a 10 MB label) is refused without ever becoming a .NET string. Malformed JSON is left for the strict reader to name.
/// </summary>
public static class JsonGuard
{
    public static (string Field, string Message)? FindOversizedString(ReadOnlySpan<byte> body, int maxBytes)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 64 });
        string? property = null;
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.PropertyName)) continue;
                if (reader.ValueSpan.Length > maxBytes)
                {
                    return reader.TokenType == JsonTokenType.PropertyName
                        ? ("body", $"has a property name of {reader.ValueSpan.Length} bytes; at most {maxBytes} are allowed")
                        : (property ?? "body", $"is a string of {reader.ValueSpan.Length} bytes; at most {maxBytes} are allowed");
                }
                if (reader.TokenType == JsonTokenType.PropertyName) property = reader.GetString();
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // Malformed JSON or invalid UTF-8: the strict reader names it.
        }
        return null;
    }
}
