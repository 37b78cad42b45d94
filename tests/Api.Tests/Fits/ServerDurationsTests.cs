using FitService.LoadTest;

namespace FitService.Api.Tests.Fits;

/// <summary>The load test's reading of the service's own request-duration histogram (bench/LoadTest).</summary>
public sealed class ServerDurationsTests
{
    private static ServerDurations Of(params (double Le, long Count)[] buckets) =>
        new(new SortedDictionary<double, long>(buckets.ToDictionary(b => b.Le, b => b.Count)));

    [Fact]
    public void QuantilesAreInterpolatedWithinTheirBucket()
    {
        // 100 reads: 90 within 1 ms, 9 more within 2 ms, the last within 10 ms.
        var run = Of((0.001, 90), (0.002, 99), (0.010, 100), (double.PositiveInfinity, 100));

        Assert.Equal(0.001 * 50 / 90, run.Quantile(0.5), 12);
        Assert.Equal(0.002, run.Quantile(0.99), 12);
        Assert.Equal(0.002 + 0.008 * 0.5, run.Quantile(0.995), 12);
        Assert.Equal(0.99, run.ShareWithin(0.002), 12);
        Assert.Equal(0.010, run.Max);
    }

    [Fact]
    public void ARunIsTheDifferenceOfTwoScrapes()
    {
        var before = Of((0.001, 10), (0.002, 10), (double.PositiveInfinity, 10));
        var after = Of((0.001, 10), (0.002, 30), (double.PositiveInfinity, 40));

        var run = after.Minus(before);

        Assert.Equal(30, run.Count);
        Assert.Equal(2.0 / 3, run.ShareWithin(0.002), 12);
        Assert.Equal(double.PositiveInfinity, run.Max);
        Assert.Equal(0.0, Of().Quantile(0.99));
    }
}
