using FitService.Engine.Models;

namespace FitService.Engine.Tests;

/// <summary>
/// Weighted fits: every loss is Σwᵢℓᵢ/Σwᵢ, as PyTorch's <c>(w * loss).sum() / w.sum()</c> (Data/torch_weighted_runs.json, written
/// by <c>bench/torch_reference.py weighted</c>), and weights are checked as the API names them.
/// </summary>
public class WeightedDescentTests
{
    // The engine sums w/Σw·ℓ in 4 lanes, PyTorch w·ℓ then divides: the same sums, rounded differently (~1e-15 a step).
    private const double Tolerance = 1e-9;

    public static TheoryData<string> Cases() =>
        [.. TestData.Load("torch_weighted_runs.json").GetProperty("cases").EnumerateArray().Select(c => c.GetProperty("name").GetString()!)];

    [Theory]
    [MemberData(nameof(Cases))]
    public void WeightedRunMatchesPyTorchWithAWeightTensor(string name)
    {
        var c = TestData.Load("torch_weighted_runs.json").GetProperty("cases").EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        var torch = c.GetProperty("torch");
        double[] Doubles(string field) => [.. torch.GetProperty(field).EnumerateArray().Select(e => e.GetDouble())];
        var problem = ProblemJson.Read(c.GetProperty("problem"));
        Assert.NotNull(problem.Weights);

        var result = Fitter.Run(problem);

        Assert.Equal(StopReason.Steps, result.StopReason);
        TorchReferenceTests.AssertClose(Doubles("history"), result.History, "history");
        TorchReferenceTests.AssertClose(Doubles("params"), result.Params, "params");
        TorchReferenceTests.AssertClose([torch.GetProperty("loss").GetDouble()], [result.Loss], "loss");
        TorchReferenceTests.AssertClose([torch.GetProperty("loss").GetDouble()], [Fitter.Evaluate(problem.X, problem.Y, problem.Degree, problem.Loss, result.Params, problem.Weights)], "evaluate");
    }

    [Theory]
    [InlineData(LossKind.Mse)]
    [InlineData(LossKind.Mae)]
    [InlineData(LossKind.Huber)]
    public void AZeroWeightRemovesItsPointAndAnIntegerWeightRepeatsIt(LossKind kind)
    {
        double[] x = [0, 1, 2, 3], y = [1, 3, 2, 40];
        double[] p = [0.5, 1.25];
        var loss = new LossSpec(kind, 1.5);

        var weighted = Fitter.Evaluate(x, y, 1, loss, p, [2, 1, 1, 0]);
        var repeated = Fitter.Evaluate([0, 0, 1, 2], [1, 1, 3, 2], 1, loss, p);

        Assert.Equal(repeated, weighted, 1e-14);
    }

    [Fact]
    public void WeightsScaleFreely()
    {
        var (x, y) = (LessonData.X, LessonData.Y);
        var w = x.Select((_, i) => 1.0 + i % 3).ToArray();
        var loss = new LossSpec(LossKind.Huber, 2);
        double[] p = [1, -0.5, 2];

        Assert.Equal(Fitter.Evaluate(x, y, 2, loss, p, w), Fitter.Evaluate(x, y, 2, loss, p, [.. w.Select(v => v * 1e6)]), 1e-12);
    }

    [Theory]
    [InlineData(new[] { 1.0, 2.0 }, "length 2 differs from x (3)")]
    [InlineData(new[] { 1.0, -1.0, 1.0 }, "value at index 1 must be finite and ≥ 0")]
    [InlineData(new[] { 1.0, double.NaN, 1.0 }, "value at index 1 must be finite and ≥ 0")]
    [InlineData(new[] { 1.0, 1.0, double.PositiveInfinity }, "value at index 2 must be finite and ≥ 0")]
    [InlineData(new[] { 0.0, 0.0, 0.0 }, "must not all be 0")]
    [InlineData(new[] { 1e308, 1e308, 1e308 }, "must have a finite sum")]
    public void InvalidWeightsAreNamed(double[] weights, string message)
    {
        var problem = new FitProblem([0, 1, 2], [1, 2, 3], 1, new LossSpec(LossKind.Mse), 0.1, 10, Weights: weights);

        var errors = FitProblemValidator.Validate(problem);

        Assert.Equal([("weights", message)], errors);
    }
}
