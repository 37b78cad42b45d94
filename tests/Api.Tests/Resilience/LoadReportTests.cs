using FitService.LoadTest;

namespace FitService.Api.Tests.Resilience;

/// <summary>
/// What bench/LoadTest concludes from its numbers for goal 5: the live heap's slope over the second half, the stalls that
/// slow reads come in, and the plain summary that states each part of the goal.
/// </summary>
public sealed class LoadReportTests
{
    [Fact]
    public void SlowSendsCloserThanTheGapAreOneStall()
    {
        // Five sends 0.5 ms apart (one process stopped while they went out), then two alone, then a pair.
        double[] sends = [300.5, 0, 0.5, 1.0, 1.5, 2.0, 100, 250, 300];

        var stalls = LoadReport.FindStalls(sends, boundMs: 10);

        Assert.Equal(new StallReport(10, SlowReads: 9, Stalls: 4, InStallsOfFive: 5, Largest: 5), stalls);
        Assert.Equal(new StallReport(10, 0, 0, 0, 0), LoadReport.FindStalls([], 10));
    }

    [Fact]
    public void TheLiveHeapSlopeIsTakenOverTheSecondHalfOnly()
    {
        // Flat after a first-half fill: the second half's slope is 0 whatever the first half did.
        var report = Report() with
        {
            LiveHeaps = [Live(0, 10), Live(1, 20), Live(2, 30), Live(3, 30), Live(4, 30)],
        };
        Assert.Equal(0, report.LiveHeapSlopeMbPerMinute!.Value, 9);

        // 1 MB a minute over minutes 2-4.
        var growing = report with { LiveHeaps = [Live(0, 10), Live(1, 10), Live(2, 10), Live(3, 11), Live(4, 12)] };
        Assert.Equal(1, growing.LiveHeapSlopeMbPerMinute!.Value, 9);
        Assert.Contains("second half +1.00 MB/min", growing.Goal5Summary(), StringComparison.Ordinal);
    }

    [Fact]
    public void TheGoalSummaryCountsServerErrorsAndShowsBothTails()
    {
        var report = Report() with
        {
            PollFromSend = new KindReport("read, from send (not due)", 100, 1, 12.5, 30),
            SendSlip = new KindReport("send slip", 105, 0.5, 1.5, 4),
            Stalls = new StallReport(10, 3, 1, 0, 3),
            ServiceCollections = 42,
            ServiceGcPause = TimeSpan.FromMilliseconds(250),
        };

        var summary = report.Goal5Summary();

        Assert.Contains("5xx: 2;", summary, StringComparison.Ordinal);
        Assert.Contains("12.50 ms from send", summary, StringComparison.Ordinal);
        Assert.Contains("sends late by p50 0.50 / p99 1.50", summary, StringComparison.Ordinal);
        Assert.Contains("service GCs in the run: 42, their pauses 250 ms", summary, StringComparison.Ordinal);
    }

    private static LiveHeapSample Live(double minutes, double megabytes) => new(TimeSpan.FromMinutes(minutes), (long)(megabytes * 1048576));

    private static LoadReport Report() => new(
        Sent: 105, Completed: 105, Elapsed: TimeSpan.FromMinutes(4), Throughput: 105 / 240.0,
        StatusCounts: new Dictionary<int, int> { [200] = 100, [202] = 3, [503] = 2 }, TransportErrors: 0,
        Submit: new KindReport("submit", 5, 1, 2, 3), Poll: new KindReport("read (GET, all)", 100, 1, 14, 40),
        RssBeforeBytes: null, RssAfterBytes: null);
}
