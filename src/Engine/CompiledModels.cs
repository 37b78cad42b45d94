using FitService.Engine.Autodiff;

namespace FitService.Engine;

/// <summary>
/// Compiled loss graphs kept from one run to the next, so that many small fits of one model on the same points (a
/// batch's learning-rate sweep, a worker's chunk of a batch) compile it once. Pass it in <see cref="FitRunOptions.Models"/>.
/// Never changes a result: a graph holds the points and the loss, and each run sets every param before its first step.
/// </summary>
/// <remarks>
/// Not thread-safe: one per thread (a graph holds its step's scratch). Points are matched by reference, not by value:
/// the caller passes the same <see cref="FitProblem.X"/>, <see cref="FitProblem.Y"/> and <see cref="FitProblem.Weights"/>
/// arrays for the same points, and must not change them while this holds them. Only polynomials and formulas below
/// <see cref="FusedKernel.ChunkedFrom"/> points are kept, at most <see cref="Capacity"/> graphs (the oldest goes first);
/// a network or a big fit compiles as without it.
/// </remarks>
public sealed class CompiledModels
{
    private readonly Dictionary<Key, FusedKernel> _kernels = [];
    private readonly Queue<Key> _order = new();

    /// <param name="capacity">Graphs kept at most.</param>
    public CompiledModels(int capacity = 8)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
    }

    /// <summary>Graphs kept at most.</summary>
    public int Capacity { get; }

    /// <summary>Graphs compiled through this so far (a run that found its graph here compiled none).</summary>
    public int Compiled { get; private set; }

    /// <summary>The problem's graph: the one kept for the same model on the same points, else a new one (kept when small).</summary>
    internal FusedKernel Get(FitProblem problem, int parallelism)
    {
        if (problem.Network is not null || problem.Points >= FusedKernel.ChunkedFrom) return Fitter.Compile(problem, parallelism);
        var key = new Key(problem.X, problem.Y, problem.Weights, problem.Degree, problem.Formula?.Text,
            problem.Formula is { } f ? string.Join(',', f.Parameters) : null, problem.Loss);
        if (_kernels.TryGetValue(key, out var kept)) return kept;
        var kernel = Fitter.Compile(problem, parallelism);
        Compiled++;
        if (_kernels.Count == Capacity) _kernels.Remove(_order.Dequeue());
        _kernels.Add(key, kernel);
        _order.Enqueue(key);
        return kernel;
    }

    /// <summary>The arrays by reference (a record compares them so), the model and the loss by value.</summary>
    private sealed record Key(double[] X, double[] Y, double[]? Weights, int Degree, string? Formula, string? FormulaParams, LossSpec Loss);
}
