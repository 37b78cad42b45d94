using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Xml.Linq;
using CsCheck;
using FitService.Api.Fits;
using FitService.Api.LearningRates;
using FitService.Api.Plots;

namespace FitService.Api.Tests.Plots;

/// <summary>
/// Every picture, for any finite numbers a client can send (subnormal, equal, ±1e300, spans of 1e±300), returns a
/// well-formed SVG of bounded size. Each property runs under a watchdog: a renderer that loops ends the test host at
/// once with a message, instead of hanging it or eating the machine's memory.
/// </summary>
public sealed class PlotBoundsTests
{
    /// <summary>Largest picture accepted: points (≤ 2,000), curves (≤ 241 samples), loss buckets (≤ 2,001) and ticks are all capped.</summary>
    private const int MaxSvgChars = 2_000_000;

    private static readonly double[] Extremes =
    [
        0, 5e-324, -5e-324, 1e-320, 2.2250738585072014E-308, 1e-300, -1e-300, 1, 1.0000000000000002, -1, 0.1, 1e15, 1e16, 9007199254740993,
        1e300, -1e300, 1.7e308, -1.7e308, double.MaxValue, -double.MaxValue,
    ];

    /// <summary>A finite double: one of the extremes, one a few ulps from one, or any finite value.</summary>
    private static readonly Gen<double> Finite = Gen.OneOf(
        Gen.OneOf(Extremes),
        Gen.Select(Gen.OneOf(Extremes), Gen.Int[-3, 3], (v, ulps) => Ulps(v, ulps)),
        Gen.Double.Where(double.IsFinite),
        Gen.Double[-10, 10]);

    private static readonly Gen<double> AnyLoss = Gen.OneOf(Finite, Gen.OneOf(double.NaN, double.PositiveInfinity, double.NegativeInfinity));

    /// <summary>Values all equal, a few ulps apart, or anything: the ranges that broke the axes.</summary>
    private static readonly Gen<double[]> Values = Gen.OneOf(
        Gen.Select(Finite, Gen.Int[1, 6], (v, n) => Enumerable.Repeat(v, n).ToArray()),
        Gen.Select(Finite, Gen.Int[0, 4].Array[1, 6], (v, ulps) => ulps.Select(u => Ulps(v, u)).ToArray()),
        Finite.Array[1, 8]);

    [Fact]
    public void LinearAxesHaveFewTicksAndFiniteEndsForAnyFiniteRange()
    {
        Watchdog(() => Gen.Select(Finite, Finite).Sample((lo, hi) =>
        {
            var axis = Axis.Linear(lo, hi).Place(0, 100);
            Assert.InRange(axis.Ticks.Count, 2, Axis.MaxTicks + 1);
            Assert.True(double.IsFinite(axis.Min) && double.IsFinite(axis.Max) && axis.Max > axis.Min, $"[{axis.Min:R}, {axis.Max:R}]");
            Assert.True(axis.Min <= Math.Min(lo, hi) && axis.Max >= Math.Max(lo, hi), "the axis covers its range");
            Assert.All(axis.Ticks, t => Assert.True(double.IsFinite(axis.Map(t.Value)), $"tick {t.Value:R}"));
            Assert.True(double.IsFinite(axis.Map(lo)) && double.IsFinite(axis.Map(hi)));
        }, iter: 20_000, threads: 1));
    }

    [Fact]
    public void LogAxesHaveFewTicksForAnyPositiveRange()
    {
        Watchdog(() => Gen.Select(Finite, Finite).Sample((lo, hi) =>
        {
            var axis = Axis.Logarithmic(Math.Abs(lo), Math.Abs(hi)).Place(0, 100);
            Assert.InRange(axis.Ticks.Count, 2, 2 * Axis.MaxTicks);
            Assert.True(axis.Min > 0 && double.IsFinite(axis.Max) && axis.Max > axis.Min, $"[{axis.Min:R}, {axis.Max:R}]");
            Assert.All(axis.Ticks, t => Assert.True(double.IsFinite(axis.Map(t.Value)), $"tick {t.Value:R}"));
        }, iter: 20_000, threads: 1));
    }

    [Fact]
    public void TheFitPlotIsBoundedForAnyPointsAndParams()
    {
        var gen = Gen.Select(Values, Gen.Int[0, 3], (x, degree) => (x, degree))
            .SelectMany(s => Gen.Select(Finite.Array[s.x.Length], Finite.Array[s.degree + 1].Null(), Finite.Array[s.degree + 1].Null(),
                (y, p, initial) => new FitPlotInput("t", s.x, y, p, initial, null, "c")));
        Watchdog(() => gen.Sample(input => AssertBoundedSvg(FitPlot.Render(input)), iter: 400, threads: 1));
    }

    [Fact]
    public void TheLossPlotIsBoundedOnBothScalesForAnyHistory()
    {
        var gen = Gen.Select(AnyLoss.Array[0, 50], Gen.Int[1, 1_000_000], Gen.Int[0, 10_000_000], AnyLoss, Gen.Bool,
            Gen.OneOf<string?>("steps", "converged", "diverged", "cancelled", null),
            (history, every, step, final, log, reason) => new LossPlotInput("t", history, every, step, final, reason, log, "c"));
        Watchdog(() => gen.Sample(input => AssertBoundedSvg(LossPlot.Render(input)), iter: 400, threads: 1));
    }

    [Fact]
    public void TheFinderPlotIsBoundedForAnyCurve()
    {
        var point = Gen.Select(Finite.Where(v => v != 0), AnyLoss, AnyLoss,
            (rate, loss, smoothed) => new FinderPoint(Math.Abs(rate), FitMapper.FiniteOrNull(loss), FitMapper.FiniteOrNull(smoothed)));
        var gen = Gen.Select(point.Array[0, 40], Finite.Nullable(), Finite.Nullable(), (curve, steep, minimum) => new LearningRateFinderResource
        {
            Id = "run", Status = "succeeded", Curve = curve,
            Suggestions = new LearningRateSuggestions(steep is { } s ? Math.Abs(s) : null, minimum is { } m ? Math.Abs(m) : null),
            Request = new LearningRateFinderSpec
            {
                Loss = "mse", Points = 1, InitialParams = [0], Optimizer = new OptimizerDto { Type = "sgd" },
                StartLearningRate = 1e-7, EndLearningRate = 10, Steps = 100,
            },
        });
        Watchdog(() => gen.Sample(run => AssertBoundedSvg(LearningRateFinderPlot.Render(run)), iter: 400, threads: 1));
    }

    [Theory]
    [InlineData(5e-324)]
    [InlineData(0.0)]
    [InlineData(1e300)]
    [InlineData(-1.7e308)]
    public void ASinglePointAtAnExtremeIsDrawnInsideThePlot(double x)
    {
        var svg = Watchdog(() => FitPlot.Render(new FitPlotInput("t", [x], [0], [1, 0], null, null, "c")));

        var plot = new SvgReader(svg);
        var circle = Assert.Single(plot.Circles("points"));
        Assert.InRange(circle.X, SvgCanvas.Left, SvgCanvas.Left + SvgCanvas.PlotWidth);
    }

    [Fact]
    public void TwoPointsOneUlpApartGetAnAxisWithAFewTicks()
    {
        var svg = Watchdog(() => FitPlot.Render(new FitPlotInput("t", [1, 1.0000000000000002], [0, 1], null, null, null, "c")));

        Assert.InRange(new SvgReader(svg).Ticks("x-axis").Count, 2, Axis.MaxTicks + 1);
    }

    private static void AssertBoundedSvg(string svg)
    {
        Assert.True(svg.Length <= MaxSvgChars, $"the picture has {svg.Length:N0} characters");
        XDocument.Parse(svg);
    }

    private static double Ulps(double value, int ulps)
    {
        for (var i = 0; i < Math.Abs(ulps); i++) value = ulps > 0 ? Math.BitIncrement(value) : Math.BitDecrement(value);
        return double.IsFinite(value) ? value : Math.Sign(value) * double.MaxValue;
    }

    private static void Watchdog(Action check) => Watchdog(() => { check(); return 0; });

    /// <summary>
    /// Runs <paramref name="work"/> on its own thread. Should it neither return within a generous budget nor stay
    /// within 2 GB more heap, the process ends with a message: a thread that loops cannot be stopped any other way.
    /// </summary>
    private static T Watchdog<T>(Func<T> work)
    {
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try { result = work(); }
            catch (Exception e) { failure = ExceptionDispatchInfo.Capture(e); }
        })
        { IsBackground = true };
        var heapBefore = GC.GetTotalMemory(false);
        var clock = Stopwatch.StartNew();
        thread.Start();
        while (!thread.Join(50))
        {
            var grown = GC.GetTotalMemory(false) - heapBefore;
            if (clock.Elapsed > TimeSpan.FromMinutes(3) || grown > 2L << 30)
            {
                Environment.FailFast($"a plot did not return: {clock.Elapsed.TotalSeconds:F0} s, heap grown {grown >> 20} MB");
            }
        }
        failure?.Throw();
        return result;
    }
}
