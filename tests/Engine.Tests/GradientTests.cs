using CsCheck;
using FitService.Engine.Autodiff;
using FitService.Engine.Models;

namespace FitService.Engine.Tests;

/// <summary>Backward against central finite differences, for every operation and loss, on random inputs.</summary>
public class GradientTests
{
    // A scalar loss of three parameters a, b, c built around one operation, on points x.
    public static TheoryData<string> Operations() =>
        ["add", "sub", "mul", "div", "neg", "abs", "square", "pow3", "exp", "log", "sin", "cos", "tanh", "relu", "sigmoid", "maximum", "bce", "where", "clamp",
         "sum", "mean", "scalar-chain", "after-reduction", "shared-subexpression"];

    internal static Tensor Build(string op, Tensor a, Tensor b, Tensor c, Tensor x)
    {
        var u = a * x + b;      // two vectors that depend on the parameters
        var w = c * x - a;
        return op switch
        {
            "add" => (u + w).Square().Mean(),
            "sub" => (u - w).Square().Mean(),
            "mul" => (u * w).Mean(),
            "div" => (u / (w.Square() + 1.0)).Mean(),
            "neg" => (-u * w).Mean(),
            "abs" => (u.Abs() * w).Mean(),
            "square" => (u.Square() * w).Mean(),
            "pow3" => u.Pow(3).Mean(),
            "exp" => (0.3 * u).Exp().Mean(),
            "log" => (u.Square() + 1.0).Log().Mean(),
            "sin" => (u.Sin() * w).Mean(),
            "cos" => (u.Cos() * w).Mean(),
            "tanh" => (u.Tanh() * w).Mean(),
            "relu" => (u.Relu() * w).Mean(),
            "sigmoid" => (u.Sigmoid() * w).Mean(),
            "maximum" => (u.Maximum(w) * u).Mean(),
            "bce" => u.BceWithLogits(w.Sigmoid()).Mean(),       // a target with a gradient too: d/dy = −z
            "where" => Tensor.Where(u.LessThan(w), u.Square(), w * u).Mean(),
            "clamp" => (u.Clamp(-0.5, 0.5) * w).Mean(),
            "sum" => (u * w).Sum(),
            "mean" => u.Mean() * 1.0 + w.Mean(),
            "scalar-chain" => ((a * a) * x + (b / c) * u).Mean(),                  // scalars computed before the loop
            "after-reduction" => ((u * w).Mean().Square() + (u.Abs().Sum() + 1.0).Log()), // scalars after reductions: two passes
            "shared-subexpression" => (u * u * u + u).Mean(),                   // u feeds several nodes
            _ => throw new ArgumentException(op),
        };
    }

    private static readonly Gen<(double[] X, double[] P)> Inputs =
        Gen.Select(Gen.Int[1, 41].SelectMany(n => Gen.Double[-2, 2].Array[n]), Gen.Double[-1.5, 1.5].Array[3], (x, p) => (X: x, P: p))
            .Where(t => Math.Abs(t.P[2]) > 0.1);

    [Theory]
    [MemberData(nameof(Operations))]
    public void BackwardOfEveryOperationMatchesCentralDifferences(string op) =>
        Inputs.Sample(t =>
        {
            var (x, p) = t;
            if (NearAKink(x, p)) return;
            var parameters = p.Select(v => Tensor.Parameter(v)).ToArray();
            var loss = Build(op, parameters[0], parameters[1], parameters[2], Tensor.Points(x));

            var tape = new Tape(loss);
            var value = tape.Forward();
            tape.Backward();
            var tapeGrad = parameters.Select(q => q.Grad[0]).ToArray();
            var fused = new FusedKernel(loss, parameters);
            var fusedGrad = new double[3];
            var fusedValue = fused.ForwardBackward(p, fusedGrad);

            Assert.Equal(value, fusedValue, 1e-12 * (1 + Math.Abs(value)));
            Assert.Equal(value, fused.Forward(p), 1e-12 * (1 + Math.Abs(value)));
            var numeric = CentralDifferences(q => fused.Forward(q), p);
            for (var k = 0; k < 3; k++)
            {
                Assert.True(Math.Abs(tapeGrad[k] - fusedGrad[k]) <= 1e-10 * (1 + Math.Abs(tapeGrad[k])), $"{op} d/dp{k}: tape {tapeGrad[k]}, fused {fusedGrad[k]}");
                Assert.True(Math.Abs(numeric[k] - tapeGrad[k]) <= 1e-5 * (1 + Math.Abs(numeric[k])), $"{op} d/dp{k}: backward {tapeGrad[k]}, differences {numeric[k]}");
            }
        }, iter: 60, threads: 1);

    [Theory]
    [InlineData(LossKind.Mae)]
    [InlineData(LossKind.Mse)]
    [InlineData(LossKind.Huber)]
    public void LossGradientsMatchCentralDifferencesForDegrees0To8(LossKind kind)
    {
        var gen = Gen.Select(Gen.Int[0, 8], Gen.Int[1, 60], Gen.Double[0.3, 3], (degree, n, delta) => (degree, n, delta))
            .SelectMany(s => Gen.Select(Gen.Double[-1.5, 1.5].Array[s.n], Gen.Double[-4, 4].Array[s.n], Gen.Double[-2, 2].Array[s.degree + 1],
                (x, y, p) => (s.degree, s.delta, x, y, p)));
        gen.Sample(t =>
        {
            // Finite differences are meaningless across |r|'s kink at 0 (MAE) and need a margin at |r| = δ (Huber).
            var residuals = t.x.Select(xi => Polynomial.Evaluate(t.p, xi)).Zip(t.y, (f, yi) => Math.Abs(f - yi));
            if (residuals.Any(r => r < 1e-3 || Math.Abs(r - t.delta) < 1e-3)) return;
            var loss = new LossSpec(kind, t.delta);
            var kernel = Fitter.Compile(t.x, t.y, t.degree, loss);
            var grad = new double[t.degree + 1];
            var value = kernel.ForwardBackward(t.p, grad);

            Assert.Equal(Fitter.Evaluate(t.x, t.y, t.degree, loss, t.p), value);
            var numeric = CentralDifferences(q => Fitter.Evaluate(t.x, t.y, t.degree, loss, q), t.p);
            for (var k = 0; k <= t.degree; k++)
                Assert.True(Math.Abs(numeric[k] - grad[k]) <= 1e-5 * (1 + Math.Abs(numeric[k])), $"{kind} degree {t.degree} d/dp{k}: backward {grad[k]}, differences {numeric[k]}");
        }, iter: 150, threads: 1);
    }

    [Fact]
    public void ALossWithoutParametersHasAZeroGradient()
    {
        var unused = Tensor.Parameter(3.0);
        var loss = (Tensor.Points([1.0, 2.0, 3.0]) * 2.0).Mean();
        var gradient = new double[] { double.NaN };
        Assert.Equal(4.0, new FusedKernel(loss, [unused]).ForwardBackward([3.0], gradient));
        Assert.Equal([0.0], gradient);
    }

    [Fact]
    public void MaeGradientAtAZeroResidualIsZeroAsInPyTorch()
    {
        // One point exactly on the model: |r| has no slope there in PyTorch (sign(0) = 0).
        var kernel = Fitter.Compile([2.0], [7.0], 1, new LossSpec(LossKind.Mae));
        var grad = new double[2];
        Assert.Equal(0.0, kernel.ForwardBackward([3.0, 1.0], grad));
        Assert.Equal([0.0, 0.0], grad);
    }

    [Fact]
    public void HuberIsHalfSquareInsideDeltaAndLinearOutside()
    {
        // Residuals 0.5 and 3 with δ = 1: ½·0.25 and 1·(3 − 0.5), mean of the two.
        var loss = Fitter.Evaluate([0.0, 0.0], [-0.5, -3.0], 0, new LossSpec(LossKind.Huber, 1.0), [0.0]);
        Assert.Equal((0.125 + 2.5) / 2, loss, 15);
    }

    // The kinks of abs, where and clamp in Build: u = 0, u = w, u = ±0.5.
    private static bool NearAKink(double[] x, double[] p) => x.Any(xi =>
    {
        double u = p[0] * xi + p[1], w = p[2] * xi - p[0];
        return Math.Abs(u) < 1e-3 || Math.Abs(u - w) < 1e-3 || Math.Abs(Math.Abs(u) - 0.5) < 1e-3;
    });

    private static double[] CentralDifferences(Func<double[], double> f, double[] p)
    {
        var result = new double[p.Length];
        for (var k = 0; k < p.Length; k++)
        {
            var h = 1e-7 * Math.Max(1, Math.Abs(p[k]));
            var up = (double[])p.Clone();
            var down = (double[])p.Clone();
            up[k] += h;
            down[k] -= h;
            result[k] = (f(up) - f(down)) / (up[k] - down[k]);
        }
        return result;
    }
}

/// <summary>The new element rules at their edges, as PyTorch defines them.</summary>
public class NetworkRuleTests
{
    private static double Grad(Func<Tensor, Tensor> f, double a)
    {
        var p = Tensor.Parameter(a);
        var tape = new Tape((f(p) * Tensor.Points([1.0])).Sum());
        tape.Forward();
        tape.Backward();
        return p.Grad[0];
    }

    [Fact]
    public void ReluPassesNoGradientAtZeroAsPyTorchsThresholdBackward()
    {
        Assert.Equal(0.0, Grad(t => t.Relu(), 0.0));
        Assert.Equal(1.0, Grad(t => t.Relu(), 1e-300));
        Assert.Equal(0.0, Grad(t => t.Relu(), -2.0));
    }

    [Fact]
    public void MaximumSplitsTheGradientInHalfBetweenEqualInputs()
    {
        var a = Tensor.Parameter(1.5);
        var b = Tensor.Parameter(1.5);
        var tape = new Tape((a.Maximum(b) * Tensor.Points([1.0])).Sum());
        tape.Forward();
        tape.Backward();
        Assert.Equal(0.5, a.Grad[0]);
        Assert.Equal(0.5, b.Grad[0]);
    }

    [Theory]
    [InlineData(0.0, 1.0, 0.6931471805599453)]          // log 2
    [InlineData(40.0, 1.0, 4.248354255291589e-18)]      // log1p(e^−40): naive log(1 + e^−40) would give 0
    [InlineData(-40.0, 0.0, 4.248354255291589e-18)]
    [InlineData(40.0, 0.0, 40.0)]
    [InlineData(-800.0, 1.0, 800.0)]                    // no overflow of e^800
    public void BceWithLogitsIsStableAtLargeLogits(double z, double y, double expected) =>
        Assert.Equal(expected, Autodiff.BceWithLogitsRule.Bce(z, y), 1e-15 * Math.Max(1, expected));

    [Fact]
    public void Log1pIsAccurateWhereOnePlusXRounds()
    {
        foreach (var x in new[] { 1e-10, 3e-17, 1e-5, 0.5, 1.0 })
        {
            // The Taylor series to x⁴ is exact to double precision for these x below 1e-4.
            var expected = x < 1e-4 ? x - x * x / 2 + x * x * x / 3 - x * x * x * x / 4 : Math.Log(1 + x);
            Assert.Equal(expected, Autodiff.BceWithLogitsRule.Log1p(x), 2e-16 * expected);
        }
    }
}
