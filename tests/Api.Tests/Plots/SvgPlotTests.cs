using System.Xml.Linq;
using FitService.Api.Plots;
using FitService.Engine;
using FitService.Engine.Models;

namespace FitService.Api.Tests.Plots;

/// <summary>The server-side renderer: valid SVG whose curves, axes and markers say what the numbers say.</summary>
public sealed class SvgPlotTests
{
    private static readonly double[] Fitted = [2.98, 2.01, 1.03];

    private static string LessonPlot(double[]? parameters = null, double[]? initial = null) => FitPlot.Render(new FitPlotInput(
        "lesson: final loss 0.9510", LessonData.X, LessonData.Y, parameters ?? Fitted, initial ?? LessonData.InitialParams, 0.951, "the lesson"));

    [Fact]
    public void AFitPlotIsWellFormedSvg11WithItsSize()
    {
        var svg = new SvgReader(LessonPlot()).Root;

        Assert.Equal(SvgReader.Svg + "svg", svg.Name);
        Assert.Equal("1.1", (string?)svg.Attribute("version"));
        Assert.Equal("720", (string?)svg.Attribute("width"));
        Assert.Equal("440", (string?)svg.Attribute("height"));
        Assert.Equal("0 0 720 440", (string?)svg.Attribute("viewBox"));
        Assert.Equal("lesson: final loss 0.9510", svg.Element(SvgReader.Svg + "title")!.Value);
        Assert.All(svg.DescendantsAndSelf(), e => Assert.Equal(SvgReader.Svg, e.Name.Namespace));
    }

    [Fact]
    public void TheFittedCurvePassesThroughTheModelsValuesWithinAPixel()
    {
        var plot = new SvgReader(LessonPlot());
        var toX = plot.Inverse("x-axis");
        var toPixelY = plot.Forward("y-axis");

        var vertices = plot.PathPoints("fit-curve");
        Assert.True(vertices.Count >= 100, $"the curve has {vertices.Count} vertices");
        foreach (var (px, py) in vertices)
        {
            var expected = toPixelY(Polynomial.Evaluate(Fitted, toX(px)));
            Assert.True(Math.Abs(expected - py) <= 1, $"at x = {toX(px):F3} the curve is at pixel {py}, the model at {expected:F2}");
        }
    }

    [Fact]
    public void TheInitialCurveIsDashedAndFollowsTheInitialParams()
    {
        var plot = new SvgReader(LessonPlot());
        var toX = plot.Inverse("x-axis");
        var toPixelY = plot.Forward("y-axis");

        Assert.NotNull(plot.ById("initial-curve")!.Attribute("stroke-dasharray"));
        Assert.Null(plot.ById("fit-curve")!.Attribute("stroke-dasharray"));
        foreach (var (px, py) in plot.PathPoints("initial-curve"))
        {
            Assert.InRange(py, toPixelY(Polynomial.Evaluate(LessonData.InitialParams, toX(px))) - 1, toPixelY(Polynomial.Evaluate(LessonData.InitialParams, toX(px))) + 1);
        }
    }

    [Fact]
    public void TheAxesCoverEveryPointAndEveryPointIsDrawnWhereItIs()
    {
        var plot = new SvgReader(LessonPlot());
        var xTicks = plot.Ticks("x-axis");
        var yTicks = plot.Ticks("y-axis");

        Assert.True(xTicks[0].Value <= LessonData.X.Min() && xTicks[^1].Value >= LessonData.X.Max());
        Assert.True(yTicks[0].Value <= LessonData.Y.Min() && yTicks[^1].Value >= LessonData.Y.Max());
        var toX = plot.Inverse("x-axis");
        var toY = plot.Inverse("y-axis");
        var circles = plot.Circles("points");
        Assert.Equal(20, circles.Count);
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(LessonData.X[i], toX(circles[i].X), 1);
            Assert.Equal(LessonData.Y[i], toY(circles[i].Y), 1);
        }
        Assert.Null(plot.ById("thinning-note"));
    }

    [Fact]
    public void AWildInitialCurveDoesNotSquashThePoints()
    {
        var plot = new SvgReader(LessonPlot(initial: [1000, 0, 0]));
        var yTicks = plot.Ticks("y-axis");

        Assert.True(yTicks[^1].Value - yTicks[0].Value < 40, $"y axis runs {yTicks[0].Value} to {yTicks[^1].Value}");
        Assert.Equal("url(#plot-clip)", (string?)plot.ById("initial-curve")!.Attribute("clip-path"));
    }

    [Fact]
    public void LargePointSetsAreThinnedForDrawingAndThePictureSaysSo()
    {
        const int n = 100_000;
        var x = Enumerable.Range(0, n).Select(i => i / 1000.0).ToArray();
        var y = x.Select(v => Math.Sin(v) * 10).ToArray();
        y[n / 3] = 50; // an outlier the axes must still cover even if its point is not drawn
        var plot = new SvgReader(FitPlot.Render(new FitPlotInput("big", x, y, [0.1, 0], null, null, "big")));

        Assert.Equal(FitPlot.MaxDrawnPoints, plot.Circles("points").Count);
        Assert.Contains("showing 2,000 of 100,000 points", plot.ById("thinning-note")!.Value);
        Assert.True(plot.Ticks("y-axis")[^1].Value >= 50);
        Assert.Null(plot.ById("initial-curve"));
    }

    [Fact]
    public void AQueuedFitShowsThePointsAndNoCurve()
    {
        var plot = new SvgReader(FitPlot.Render(new FitPlotInput("queued", [1, 2, 3], [1, 4, 9], null, null, null, "queued")));

        Assert.Equal(3, plot.Circles("points").Count);
        Assert.Null(plot.ById("fit-curve"));
    }

    [Fact]
    public void TheLossHistoryOnALogScaleHasPowersOfTenAndPlacesEveryEntry()
    {
        var history = Enumerable.Range(0, 50).Select(i => 100 * Math.Pow(0.8, i)).ToArray();
        var plot = new SvgReader(LossPlot.Render(new LossPlotInput("loss", history, 1, 50, 100 * Math.Pow(0.8, 50), "steps", LogScale: true, "log")));

        var labels = plot.Ticks("y-axis").Select(t => t.Value).ToList();
        Assert.All(labels, v => Assert.Equal(Math.Round(Math.Log10(v)), Math.Log10(v), 9));
        Assert.Contains("log scale", plot.ById("y-axis")!.Value);
        var toStep = plot.Inverse("x-axis");
        var toLoss = plot.Inverse("y-axis", log: true);
        var vertices = plot.PathPoints("loss-curve");
        Assert.Equal(50, vertices.Count);
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(i, toStep(vertices[i].X), 1);
            Assert.Equal(Math.Log10(history[i]), Math.Log10(toLoss(vertices[i].Y)), 2);
        }
        Assert.Contains("final loss 0.0014", plot.ById("final-loss")!.Value);
    }

    [Fact]
    public void TheLastStepLabelOfALongRunStaysInsideThePicture()
    {
        // 987,654 steps: the axis ends at a tick labelled 1000000, centred on the plot's right edge.
        var history = Enumerable.Range(0, 988).Select(i => 1.0 / (i + 1)).ToArray();
        var plot = new SvgReader(LossPlot.Render(new LossPlotInput("loss", history, 1000, 987_654, 1e-7, "steps", false, "long")));

        foreach (var label in plot.ById("x-axis")!.Descendants(SvgReader.Svg + "text").Where(t => t.Parent!.Attribute("class")?.Value == "tick"))
        {
            var x = double.Parse(label.Attribute("x")!.Value, System.Globalization.CultureInfo.InvariantCulture);
            var anchor = label.Attribute("text-anchor")?.Value ?? "start";
            var right = anchor == "end" ? x : anchor == "middle" ? x + 3.5 * label.Value.Length : x + 7 * label.Value.Length;
            Assert.True(right <= SvgCanvas.Width, $"tick label '{label.Value}' ends at {right}, past the picture's width {SvgCanvas.Width}");
        }
    }

    [Fact]
    public void ALinearLossAxisStartsAtZero()
    {
        var plot = new SvgReader(LossPlot.Render(new LossPlotInput("loss", [2.42, 2.0, 1.5], 1, 3, 1.2, "steps", false, "linear")));

        Assert.Equal(0, plot.Ticks("y-axis")[0].Value);
        Assert.DoesNotContain("log", plot.ById("y-axis")!.Value);
        Assert.Null(plot.ById("stop-marker"));
    }

    [Fact]
    public void AStopRuleIsMarkedAtTheStepItFired()
    {
        var history = Enumerable.Range(0, 37).Select(i => 3.0 / (i + 1)).ToArray();
        var plot = new SvgReader(LossPlot.Render(new LossPlotInput("loss", history, 1, 37, 3.0 / 38, "converged", false, "stopped")));

        var marker = plot.ById("stop-marker")!;
        Assert.Contains("stop rule fired at step 37", marker.Value);
        var x = SvgReader.Number(marker.Element(SvgReader.Svg + "line")!.Attribute("x1")!.Value);
        Assert.Equal(37, plot.Inverse("x-axis")(x), 1);
    }

    [Fact]
    public void DivergenceIsMarkedWhereTheLossBeganToRise()
    {
        double[] history = [5, 4, 3.5, 3.4, 6, 20, 300, 1e5, 1e12];
        var plot = new SvgReader(LossPlot.Render(new LossPlotInput("loss", history, 10, 90, null, "diverged", true, "diverged")));

        var marker = plot.ById("divergence-marker")!;
        Assert.Contains("divergence began at step 30; not finite at step 90", marker.Value);
        var x = SvgReader.Number(marker.Element(SvgReader.Svg + "line")!.Attribute("x1")!.Value);
        Assert.Equal(30, plot.Inverse("x-axis")(x), 1);
        Assert.Null(plot.ById("final-loss"));
    }

    [Fact]
    public void LongHistoriesAreThinnedKeepingTheirExtremes()
    {
        var history = Enumerable.Range(0, 1_000_000).Select(i => 1 + Math.Sin(i / 1000.0) + (i == 654_321 ? 50 : 0)).ToArray();
        var plot = new SvgReader(LossPlot.Render(new LossPlotInput("loss", history, 1, 1_000_000, 1, "steps", false, "long")));

        var vertices = plot.PathPoints("loss-curve");
        Assert.True(vertices.Count <= 2 * LossPlot.MaxDrawnBuckets + 1);
        var toLoss = plot.Inverse("y-axis");
        var highest = vertices.Max(v => toLoss(v.Y));
        Assert.InRange(highest, history.Max() - 0.2, history.Max() + 0.2);
        Assert.Contains("thinned for drawing", plot.ById("thinning-note")!.Value);
    }

    [Theory]
    [InlineData(7, 1)]
    [InlineData(2_000, 3)]
    [InlineData(2_001, 65_536)]
    [InlineData(123_457, 1_000)]
    [InlineData(123_457, 65_536)]
    public void ALossHistoryReadInPagesIsDrawnAsTheWholeHistoryIs(int entries, int page)
    {
        // The endpoint reads long histories in pages; the picture must not depend on where the pages end.
        var random = new Random(entries);
        var history = Enumerable.Range(0, entries)
            .Select(i => random.Next(50) == 0 ? double.NaN : random.Next(40) == 0 ? double.PositiveInfinity : 1 + random.NextDouble() * Math.Exp(-i / 1e4)).ToArray();
        var input = new LossPlotInput("loss", history, 3, 3 * entries, 0.5, "diverged", true, "paged");
        var curve = new LossCurve(entries);
        for (var offset = 0; offset < entries; offset += page) curve.Add(history.AsSpan(offset, Math.Min(page, entries - offset)));

        Assert.Equal(LossPlot.Render(input), LossPlot.Render(input with { History = [] }, curve));
        Assert.True(curve.Drawn.Count <= 2 * LossPlot.MaxDrawnBuckets + 1);
    }

    [Fact]
    public void TextIsEscaped()
    {
        var svg = FitPlot.Render(new FitPlotInput("a <b> & \"c\"", [1], [1], [1], null, 1, "<script>"));

        Assert.Equal("a <b> & \"c\"", XDocument.Parse(svg).Root!.Element(SvgReader.Svg + "title")!.Value);
        Assert.DoesNotContain("<script>", svg);
    }
}
