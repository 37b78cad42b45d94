using System.Globalization;

namespace FitService.Api.Http;

/// <summary>The <c>wait</c> preference of RFC 7240 (<c>Prefer: wait=10</c>), capped by configuration.</summary>
public static class PreferWait
{
    /// <summary>Seconds to wait, or null when the client did not ask (or asked in a form we do not understand, which RFC 7240 says to ignore).</summary>
    public static int? Parse(HttpRequest request, int maxSeconds)
    {
        foreach (var header in request.Headers["Prefer"])
        {
            if (header is null) continue;
            foreach (var part in header.Split(','))
            {
                var kv = part.Split(';')[0].Split('=', 2);
                if (kv.Length == 2 && kv[0].Trim().Equals("wait", StringComparison.OrdinalIgnoreCase) &&
                    int.TryParse(kv[1].Trim().Trim('"'), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
                {
                    return Math.Min(seconds, maxSeconds);
                }
            }
        }
        return null;
    }
}
