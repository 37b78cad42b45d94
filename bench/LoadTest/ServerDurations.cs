using System.Globalization;

namespace FitService.LoadTest;

/// <summary>
/// The service's own timing of the reads: the cumulative buckets of its <c>http_server_request_duration_seconds</c>
/// histogram (GETs of the <c>/v1/fits</c> routes, every status), as scraped from <c>/metrics</c>. Two scrapes, before and
/// after a run, give the run's histogram; its quantiles leave out what the client side adds (the generator's own
/// scheduling, the loopback, the time a request waits in the socket before Kestrel reads it).
/// </summary>
public sealed class ServerDurations(SortedDictionary<double, long> cumulative)
{
    private const string Bucket = "http_server_request_duration_seconds_bucket{";

    /// <summary>Bucket upper bound in seconds (+∞ last) → requests at most that long.</summary>
    public IReadOnlyDictionary<double, long> Cumulative => cumulative;

    public long Count => cumulative.Count == 0 ? 0 : cumulative.Values.Last();

    /// <summary>The upper bound of the highest bucket that holds a request (∞ when the last does).</summary>
    public double Max => cumulative.FirstOrDefault(b => b.Value == Count).Key;

    /// <summary>Scrapes <c>/metrics</c>; null when the service does not serve the histogram.</summary>
    public static async Task<ServerDurations?> ScrapeAsync(HttpClient http, CancellationToken ct)
    {
        string text;
        try
        {
            text = await http.GetStringAsync("/metrics", ct);
        }
        catch (HttpRequestException)
        {
            return null;
        }
        var buckets = new SortedDictionary<double, long>();
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith(Bucket, StringComparison.Ordinal) || !line.Contains("http_request_method=\"GET\"", StringComparison.Ordinal)
                || !line.Contains("http_route=\"/v1/fits", StringComparison.Ordinal)) continue;
            var le = line.IndexOf("le=\"", StringComparison.Ordinal) + 4;
            var bound = line[le..line.IndexOf('"', le)] is var b && b == "+Inf" ? double.PositiveInfinity : double.Parse(b, CultureInfo.InvariantCulture);
            var count = long.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            buckets[bound] = buckets.GetValueOrDefault(bound) + count;
        }
        return buckets.Count == 0 ? null : new ServerDurations(buckets);
    }

    /// <summary>What was counted between <paramref name="earlier"/> and this scrape.</summary>
    public ServerDurations Minus(ServerDurations earlier) =>
        new(new SortedDictionary<double, long>(cumulative.ToDictionary(b => b.Key, b => b.Value - earlier.Cumulative.GetValueOrDefault(b.Key))));

    /// <summary>The <paramref name="q"/>-quantile in seconds, interpolated linearly within its bucket.</summary>
    public double Quantile(double q)
    {
        if (Count == 0) return 0;
        var target = q * Count;
        var (lower, below) = (0.0, 0L);
        foreach (var (bound, atMost) in cumulative)
        {
            if (atMost >= target && atMost > below)
            {
                return double.IsPositiveInfinity(bound) ? lower : lower + (bound - lower) * (target - below) / (atMost - below);
            }
            (lower, below) = (bound, atMost);
        }
        return lower;
    }

    /// <summary>Share of the requests that took at most <paramref name="seconds"/> (a bucket bound, so exact).</summary>
    public double ShareWithin(double seconds) => Count == 0 ? 0 : (double)cumulative.GetValueOrDefault(seconds) / Count;
}
