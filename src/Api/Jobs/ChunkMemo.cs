using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FitService.Api.Storage;
using FitService.Engine;
using FitService.Engine.Exact;

namespace FitService.Api.Jobs;

/// <summary>
/// What a chunk's fits share, worked out once for the chunk rather than once a fit: the points (the same values read
/// again for each fit of a batch that gave them in <c>defaults</c>), the stored spec, the compiled model and the exact
/// optimum. A batch's fits usually differ only in the learning rate, the steps or the optimizer, if at all, so most of a
/// small fit's work beside its descent is the same for the whole chunk. Every entry is a pure function of what it is
/// looked up by, so a fit gets the same bits from here as computed for it alone.
/// </summary>
/// <remarks>
/// One per chunk, on its worker's thread (not thread-safe), dropped with it. A chunk's fits are small by construction
/// (<see cref="HangfireFitQueue.ChunkFits"/> at most, of little work each), and this holds at most
/// <see cref="MaxEntries"/> of each kind, so its memory is bounded by the chunk's own.
/// </remarks>
public sealed class ChunkMemo
{
    /// <summary>Distinct values of each kind kept at most; a chunk with more computes the rest per fit, as without this.</summary>
    public const int MaxEntries = 8;

    private readonly Dictionary<int, List<FitPoints>> _points = [];
    private int _pointsKept;
    private readonly Dictionary<string, FitSpec> _specs = new(StringComparer.Ordinal);
    private readonly Dictionary<(double[] X, XScaling Scaling), double[]> _scaled = [];
    private readonly Dictionary<OptimumKey, ExactOptimum> _optima = [];

    /// <summary>
    /// The engine's options for a chunk's runs: compiled models kept (by the points' arrays, so these come from
    /// <see cref="Points"/>), the threads as by default.
    /// </summary>
    public FitRunOptions RunOptions { get; } = new() { Models = new CompiledModels(MaxEntries) };

    /// <summary>Exact optima computed, not found here (for tests).</summary>
    public int OptimaSolved { get; private set; }

    /// <summary>The points as first seen in this chunk with the same values (bit for bit), else <paramref name="points"/>, kept.</summary>
    public FitPoints Points(FitPoints points)
    {
        var hash = Hash(points);
        if (_points.TryGetValue(hash, out var seen))
        {
            foreach (var candidate in seen)
                if (Same(candidate.X, points.X) && Same(candidate.Y, points.Y) && Same(candidate.Weights, points.Weights)) return candidate;
        }
        if (_pointsKept == MaxEntries) return points;
        _pointsKept++;
        if (seen is null) _points.Add(hash, seen = []);
        seen.Add(points);
        return points;
    }

    /// <summary>The stored spec, read once for every fit whose row holds the same text.</summary>
    public FitSpec Spec(string requestJson)
    {
        if (_specs.TryGetValue(requestJson, out var spec)) return spec;
        spec = StoredSpecs.Read<FitSpec>(requestJson);
        if (_specs.Count < MaxEntries) _specs.Add(requestJson, spec);
        return spec;
    }

    /// <summary><see cref="FitRunner.ScaledX"/>, made once for the same x (by reference) and scaling.</summary>
    public double[] Scaled(double[] x, XScaling scaling)
    {
        var key = (x, scaling);
        if (_scaled.TryGetValue(key, out var scaled)) return scaled;
        scaled = FitRunner.ScaledX(x, scaling);
        if (_scaled.Count < MaxEntries) _scaled.Add(key, scaled);
        return scaled;
    }

    /// <summary>
    /// A polynomial's exact optimum on the points (by reference, from <see cref="Points"/>), solved once for its degree and
    /// loss. Only an optimum is kept: a solver's refusal or a cancellation is thrown to each fit that asks, as without this.
    /// </summary>
    public ExactOptimum Optimum(FitPoints points, int degree, LossSpec loss, Func<ExactOptimum> solve)
    {
        var key = new OptimumKey(points, degree, loss);
        if (_optima.TryGetValue(key, out var optimum)) return optimum;
        optimum = solve();
        OptimaSolved++;
        if (_optima.Count < MaxEntries) _optima.Add(key, optimum);
        return optimum;
    }

    private static int Hash(FitPoints points)
    {
        var hash = new HashCode();
        hash.AddBytes(MemoryMarshal.AsBytes(points.X.AsSpan()));
        hash.AddBytes(MemoryMarshal.AsBytes(points.Y.AsSpan()));
        if (points.Weights is { } w) hash.AddBytes(MemoryMarshal.AsBytes(w.AsSpan()));
        return hash.ToHashCode();
    }

    /// <summary>Bit for bit, so −0 and 0 (or two NaNs) are told apart as the engine would see them.</summary>
    private static bool Same(double[]? a, double[]? b) =>
        a is null ? b is null : b is not null && MemoryMarshal.AsBytes(a.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(b.AsSpan()));

    /// <summary>The points by reference (a record compares them so: they come from <see cref="Points"/>), the model and loss by value.</summary>
    private sealed record OptimumKey(FitPoints Points, int Degree, LossSpec Loss)
    {
        public bool Equals(OptimumKey? other) =>
            other is not null && ReferenceEquals(Points, other.Points) && Degree == other.Degree && Loss == other.Loss;

        public override int GetHashCode() => HashCode.Combine(RuntimeHelpers.GetHashCode(Points), Degree, Loss);
    }
}
