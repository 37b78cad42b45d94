namespace FitService.Engine;

/// <summary>How a run may use the machine. None of it changes a result: the numbers are the same bit for bit.</summary>
public sealed record FitRunOptions
{
    /// <summary>The default: a step of a big fit may use every core.</summary>
    public static FitRunOptions Default { get; } = new();

    /// <summary>
    /// Threads one step may use, the calling thread included (default: one per core). Only fits of at least
    /// <see cref="Autodiff.FusedKernel.ChunkedFrom"/> points use more than the calling thread; their points are
    /// split into <see cref="Autodiff.FusedKernel.Chunks"/> fixed chunks whatever this is, so it never changes a result.
    /// </summary>
    public int MaxDegreeOfParallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>
    /// Compiled models to reuse and keep (default none: each run compiles its own). For many small fits of one model on
    /// the same point arrays, run one after another on one thread; see <see cref="CompiledModels"/>.
    /// </summary>
    public CompiledModels? Models { get; init; }
}
