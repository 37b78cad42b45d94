using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;

namespace FitService.Api.Http;

/// <summary>
/// <c>Accept</c> with q-values (RFC 9110 §12.5.1): of the media types an endpoint offers, the one the client rates highest,
/// ties going to the endpoint's order (its default first). No <c>Accept</c> means the default.
/// </summary>
public static class ContentNegotiation
{
    /// <summary>The chosen media type, or null when the client accepts none of <paramref name="offered"/> (answer 406).</summary>
    public static string? Choose(HttpRequest request, params string[] offered)
    {
        var header = request.Headers.Accept;
        if (header.Count == 0 || string.IsNullOrWhiteSpace(header.ToString())) return offered[0];
        if (!MediaTypeHeaderValue.TryParseList(header, out var ranges) || ranges.Count == 0) return offered[0];

        string? best = null;
        var bestQuality = 0.0;
        foreach (var candidate in offered)
        {
            var quality = QualityOf(candidate, ranges);
            if (quality > bestQuality)
            {
                (best, bestQuality) = (candidate, quality);
            }
        }
        return best;
    }

    /// <summary>The q-value of the most specific range that matches (<c>text/csv</c> over <c>text/*</c> over <c>*/*</c>).</summary>
    private static double QualityOf(string candidate, IList<MediaTypeHeaderValue> ranges)
    {
        var type = new MediaTypeHeaderValue(candidate);
        var specificity = -1;
        var quality = 0.0;
        foreach (var range in ranges)
        {
            // Parameters such as charset do not change which representation is meant.
            if (!type.IsSubsetOf(new MediaTypeHeaderValue(range.MediaType))) continue;
            var rank = range.MatchesAllTypes ? 0 : range.MatchesAllSubTypes ? 1 : 2;
            if (rank <= specificity) continue;
            specificity = rank;
            quality = range.Quality ?? 1.0;
        }
        return quality;
    }

    /// <summary>406 naming what the endpoint can answer.</summary>
    public static ProblemHttpResult NotAcceptable(params string[] offered) =>
        TypedResults.Problem(statusCode: StatusCodes.Status406NotAcceptable, title: "Not acceptable",
            detail: $"This resource is available as {string.Join(" or ", offered)}; the Accept header allows none of them.");
}
