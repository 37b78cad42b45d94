using CsCheck;
using FitService.Engine.Exact;
using static FitService.Engine.Tests.ExactReferences;

namespace FitService.Engine.Tests;

/// <summary>
/// The MAE optimum above 2,000 points, where the walk looks at a band of the points nearest the starting curve and holds
/// the others on their side, on tied data: thousands of copies of a few (x, y) pairs. The reference is the same problem
/// reduced exactly (copies of a point merged into one point carrying their summed weight), solved by vertex enumeration.
/// </summary>
public class ExactHeldPointsTests
{
    /// <summary>A few distinct (x, y) pairs on a small grid, each repeated hundreds of times, with or without weights.</summary>
    private static readonly Gen<(double[] X, double[] Y, double[]? W, int Degree)> HeavilyTied =
        Gen.Select(Gen.Int[1, 12], Gen.Int[1, 9], Gen.Int[0, 8], Gen.Int[2_001, 5_000], Gen.Int[0, 2], Gen.Int[0, 3],
                (pairs, xs, degree, n, weighted, magnitude) => (pairs, xs, degree, n, weighted, magnitude))
            .SelectMany(s => Gen.Select(
                Gen.Int[0, s.xs - 1].Array[s.pairs],
                Gen.Int[-9, 9].Array[s.pairs],
                Gen.Int[0, s.pairs - 1].Array[s.n],
                Gen.Int[0, 3].Array[s.n],
                (px, py, pick, weight) =>
                {
                    // Huge and tiny magnitudes too: y, and now and then x (not tiny: its params would overflow), scaled by a power of 10.
                    var scale = new[] { 1, 1e-90, 1e90, 0.1 }[s.magnitude];
                    var xScale = s.magnitude != 1 && s.n % 2 == 0 ? scale : 1;
                    return (
                        X: pick.Select(k => px[k] * xScale).ToArray(),
                        Y: pick.Select(k => py[k] * scale).ToArray(),
                        W: s.weighted switch
                        {
                            0 => null,
                            1 => weight.Select(w => (double)w).ToArray(), // zeros among them
                            _ => weight.Select(w => 0.5 + w * 0.75).ToArray(),
                        },
                        Degree: s.degree);
                }))
            .Where(d => d.W is null || d.W.Any(w => w > 0));

    [Fact]
    public void TheMaeOptimumOfThousandsOfCopiesOfAFewPointsIsTheMergedProblemsBestVertex()
    {
        HeavilyTied.Sample(d =>
        {
            var optimum = ExactSolver.Solve(d.X, d.Y, d.W, d.Degree, new LossSpec(LossKind.Mae));
            var (x, y, w) = Merged(d.X, d.Y, d.W);
            // The reference's divided differences would underflow at x near 1e90 (y/x⁵): x in a unit of its own largest
            // value instead, which leaves the optimal loss as it is (the polynomials are the same functions).
            var unit = x.Max(Math.Abs);
            var reference = LeastAbsoluteDeviationsByVertices([.. x.Select(v => unit > 0 ? v / unit : v)], y, d.Degree, w);
            var largest = d.Y.Max(Math.Abs);
            return Math.Abs(optimum.Loss - reference) <= 1e-9 * reference + 1e-12 * largest;
        }, iter: 60);
    }

    [Fact]
    public void ABandOfTooFewDistinctXStillStartsTheWalk()
    {
        // Found by a search against scipy's HiGHS: 1,400 copies each of six points on four x. The 2,000 points nearest
        // the start curve (the band) were copies of two points, on two x: no vertex of a quadratic could be drawn from
        // them, and the solver gave up ("the points do not determine the params") on a problem with a unique optimum.
        double[] px = [0, 1, 2, 3, 3, 3], py = [-7, 8, 2, -4, -2, 7];
        var x = new double[8_400];
        var y = new double[8_400];
        for (var i = 0; i < x.Length; i++) (x[i], y[i]) = (px[i % 6], py[i % 6]);

        var optimum = ExactSolver.Solve(x, y, 2, new LossSpec(LossKind.Mae));

        Assert.Equal(LeastAbsoluteDeviationsByVertices(px, py, 2), optimum.Loss, 12);
        Assert.Contains("certificate", optimum.Method);
    }

    /// <summary>Copies of a point (same x and y) merged into one point carrying their summed weight: the same LAD problem.</summary>
    private static (double[] X, double[] Y, double[] W) Merged(double[] x, double[] y, double[]? w)
    {
        var merged = new Dictionary<(double, double), double>();
        for (var i = 0; i < x.Length; i++)
        {
            var weight = w?[i] ?? 1;
            if (weight > 0) merged[(x[i], y[i])] = merged.GetValueOrDefault((x[i], y[i])) + weight;
        }
        return ([.. merged.Keys.Select(k => k.Item1)], [.. merged.Keys.Select(k => k.Item2)], [.. merged.Values]);
    }
}
