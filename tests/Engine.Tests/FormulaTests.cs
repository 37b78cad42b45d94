using FitService.Engine.Autodiff;
using FitService.Engine.Formulas;

namespace FitService.Engine.Tests;

public class FormulaTests
{
    private const double Tolerance = 1e-9;

    public static TheoryData<string> TorchCases() =>
        [.. TestData.Load("torch_formulas.json").GetProperty("cases").EnumerateArray().Select(c => c.GetProperty("name").GetString()!)];

    [Theory]
    [MemberData(nameof(TorchCases))]
    public void FormulaRunMatchesPyTorchInEveryHistoryEntryAndParameter(string name)
    {
        var c = TestData.Load("torch_formulas.json").GetProperty("cases").EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        var torch = c.GetProperty("torch");
        double[] Doubles(string field) => [.. torch.GetProperty(field).EnumerateArray().Select(e => e.GetDouble())];

        var result = Fitter.Run(ProblemJson.Read(c.GetProperty("problem")));

        Assert.Equal(StopReason.Steps, result.StopReason);
        AssertClose(Doubles("history"), result.History, "history");
        AssertClose(Doubles("params"), result.Params, "params");
        AssertClose([torch.GetProperty("loss").GetDouble()], [result.Loss], "loss");
    }

    [Theory]
    [InlineData("a*(x + 1))", "unexpected ')' at position 10")]
    [InlineData("a*x +", "unexpected end of formula at position 6")]
    [InlineData("a ** x", "unexpected '*' at position 4")]
    [InlineData("exp x", "expected '(' after 'exp' at position 5")]
    [InlineData("a*k", "unknown name 'k' at position 3")]
    [InlineData("a*(x", "unexpected end of formula at position 5")]
    [InlineData("a*x; rm -rf /", "unexpected ';' at position 4")]
    [InlineData("__import__('os')", "unknown name '__import__' at position 1")]
    [InlineData("a + 1e999", "the number '1e999' at position 5 is too large")]
    [InlineData("a + 1.2.3", "unexpected '.' at position 8")]
    [InlineData("", "is empty")]
    public void SyntaxErrorsNameWhatAndWhere(string formula, string message)
    {
        var e = Assert.Throws<FormulaException>(() => Formula.Parse(formula, ["a"]));
        Assert.Equal("formula", e.Field);
        Assert.StartsWith(message, e.Message);
    }

    [Fact]
    public void LengthAndDepthAreBounded()
    {
        var tooLong = "a" + string.Concat(Enumerable.Repeat(" + x", 125));
        Assert.Contains("at most 500", Assert.Throws<FormulaException>(() => Formula.Parse(tooLong, ["a"])).Message);
        Assert.NotNull(Formula.Parse(tooLong[..497], ["a"]));

        var deep = new string('(', 40) + "a*x" + new string(')', 40);
        var e = Assert.Throws<FormulaException>(() => Formula.Parse(deep, ["a"]));
        Assert.StartsWith("nests deeper than 32 levels at position", e.Message);
        Assert.NotNull(Formula.Parse(new string('(', 30) + "a*x" + new string(')', 30), ["a"]));
        Assert.Contains("deeper", Assert.Throws<FormulaException>(() => Formula.Parse(string.Concat(Enumerable.Repeat("-", 40)) + "a", ["a"])).Message);
    }

    [Theory]
    [InlineData(new string[0], "must name at least one param")]
    [InlineData(new[] { "a", "a" }, "name 1 ('a') appears more than once")]
    [InlineData(new[] { "a", "x" }, "name 1 ('x') is reserved")]
    [InlineData(new[] { "a", "exp" }, "name 1 ('exp') is reserved")]
    [InlineData(new[] { "a", "2b" }, "name 1 ('2b') must be a letter")]
    [InlineData(new[] { "a", "b" }, "'b' does not appear in the formula")]
    public void ParamNamesAreChecked(string[] names, string message)
    {
        var e = Assert.Throws<FormulaException>(() => Formula.Parse("a*x", names));
        Assert.Equal("params", e.Field);
        Assert.StartsWith(message, e.Message);
    }

    [Theory]
    [InlineData("-x^2", 3.0, -9.0)]
    [InlineData("2^3^2", 0.0, 512.0)]
    [InlineData("2^-1", 0.0, 0.5)]
    [InlineData("a - x - 1", 1.0, 0.0)]
    [InlineData("a / x / 2", 1.0, 1.0)]
    [InlineData("sqrt(abs(-x)) + log(exp(a)) + cos(pi) + sin(0) + tanh(0)", 4.0, 3.0)]
    [InlineData("2e-1*x + 1.5E+1 + .5", 10.0, 17.5)]
    public void PrecedenceAndAssociativityAreConventional(string formula, double x, double expected)
    {
        var f = Formula.Parse(formula.Contains('a') ? formula : formula + " + 0*a", ["a"]);
        Assert.Equal(expected, f.Evaluate([2.0], x), 12);
    }

    [Fact]
    public void CompiledGraphAgreesWithTheTreeAndWithFiniteDifferences()
    {
        var f = Formula.Parse("a*exp(b*x) + sqrt(c + x^2) - tanh(a*x)/(b^2 + 1)", ["a", "b", "c"]);
        double[] xs = [-1.5, -0.3, 0.2, 0.9, 1.7, 2.4];
        double[] ys = [0.1, 0.4, 1.1, 2.0, 2.2, 3.9];
        double[] p = [0.7, 0.4, 1.3];
        var kernel = Fitter.Compile(new FitProblem(xs, ys, 0, new LossSpec(LossKind.Mse), 1.0, 1, Formula: f));
        var grad = new double[3];
        var loss = kernel.ForwardBackward(p, grad);
        var expected = xs.Select((x, i) => Math.Pow(f.Evaluate(p, x) - ys[i], 2)).Average();
        Assert.Equal(expected, loss, 12);
        for (var k = 0; k < 3; k++)
        {
            var h = 1e-6;
            double[] up = [.. p], down = [.. p];
            up[k] += h;
            down[k] -= h;
            var numeric = (kernel.Forward(up) - kernel.Forward(down)) / (2 * h);
            Assert.True(Math.Abs(numeric - grad[k]) <= 1e-7 * Math.Max(1, Math.Abs(numeric)), $"param {k}: autodiff {grad[k]}, finite difference {numeric}");
        }
    }

    [Fact]
    public void TheTapeAndTheFusedKernelAgreeOnAFormula()
    {
        var f = Formula.Parse("a*x^b + log(abs(c) + 1)", ["a", "b", "c"]);
        var parameters = new[] { Tensor.Parameter(1.5), Tensor.Parameter(0.5), Tensor.Parameter(-2.0) };
        var x = Tensor.Points([0.0, 0.5, 1.0, 2.0, 3.0]);
        var loss = (f.Build(parameters, x) - Tensor.Points([0.1, 1.0, 1.4, 3.0, 3.3])).Abs().Mean();
        var tape = new Tape(loss);
        var value = tape.Forward();
        tape.Backward();
        var grad = new double[3];
        var fused = new FusedKernel(loss, parameters).ForwardBackward([1.5, 0.5, -2.0], grad);
        Assert.Equal(value, fused, 14);
        for (var k = 0; k < 3; k++) Assert.Equal(parameters[k].Grad[0], grad[k], 14);
        // torch.pow: no NaN in the exponent's gradient at x = 0.
        Assert.True(double.IsFinite(grad[1]));
    }

    [Fact]
    public void AFormulaFitReportsInitialParamsOfTheWrongLength()
    {
        var f = Formula.Parse("a*x + b", ["a", "b"]);
        var errors = FitProblemValidator.Validate(new FitProblem([1, 2], [1, 2], 0, new LossSpec(LossKind.Mse), 0.1, 10, [1.0, 2.0, 3.0], Formula: f));
        Assert.Contains(errors, e => e.Field == "initialParams" && e.Message.Contains("number of params (2)"));
    }

    private static void AssertClose(double[] expected, double[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            var error = Math.Abs(expected[i] - actual[i]) / Math.Max(Math.Abs(expected[i]), 1e-300);
            Assert.True(error <= Tolerance, $"{what}[{i}]: torch {expected[i]:R}, engine {actual[i]:R}, relative error {error:E2}");
        }
    }
}
