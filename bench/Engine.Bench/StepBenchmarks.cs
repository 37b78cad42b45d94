using BenchmarkDotNet.Attributes;

namespace FitService.Engine.Bench;

/// <summary>BenchmarkDotNet: whole fits of 100 steps (per-step cost = mean / 100) and the floor pass.</summary>
[MemoryDiagnoser]
public class StepBenchmarks
{
    private FitProblem _problem = null!;
    private double[] _x = [];
    private double[] _y = [];

    [Params(20, 1_000_000)]
    public int Points { get; set; }

    [Params(2, 5)]
    public int Degree { get; set; }

    [Params(LossKind.Mae, LossKind.Mse)]
    public LossKind Loss { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _problem = BenchData.Problem(Points, Degree, Loss, steps: 100);
        (_x, _y) = (_problem.X, _problem.Y);
        Fitter.Run(_problem);
    }

    [Benchmark(Description = "Fitter.Run, 100 steps")]
    public FitResult Run100Steps() => Fitter.Run(_problem);

    [Benchmark(Description = "floor: one pass over x and y")]
    public double FloorPass() => Floor.Pass(_x, _y);
}
