namespace FitService.Api.Storage;

/// <summary>Lifecycle of a fit: queued → running → one of the three ended states.</summary>
public enum FitStatus { Queued, Running, Succeeded, Failed, Cancelled }

public static class FitStatusExtensions
{
    public static bool IsEnded(this FitStatus status) => status is FitStatus.Succeeded or FitStatus.Failed or FitStatus.Cancelled;

    public static string ToWire(this FitStatus status) => status switch
    {
        FitStatus.Queued => "queued",
        FitStatus.Running => "running",
        FitStatus.Succeeded => "succeeded",
        FitStatus.Failed => "failed",
        _ => "cancelled",
    };

    public static bool TryParseWire(string? text, out FitStatus status)
    {
        foreach (var candidate in Enum.GetValues<FitStatus>())
        {
            if (candidate.ToWire() == text) { status = candidate; return true; }
        }
        status = default;
        return false;
    }
}

/// <summary>A fit to be stored: the normalised request (without points) as JSON, and the points (with their weights, when given).</summary>
public sealed record NewFit(
    string Id,
    string Tenant,
    DateTimeOffset CreatedAt,
    string RequestJson,
    double[] X,
    double[] Y,
    int Steps,
    int HistoryEvery,
    string? Label,
    string? IdempotencyKey,
    string RequestHash,
    string? BatchId = null,
    string Kind = FitKinds.Fit,
    double[]? Weights = null,
    string? TraceParent = null);

/// <summary>What a row of the fits table holds: a fit, or a learning-rate finder run (which shares the lifecycle, points and history).</summary>
public static class FitKinds
{
    public const string Fit = "fit";
    public const string LearningRateFinder = "lrFinder";
}

/// <summary>A stored fit as the store returns it.</summary>
public sealed record FitRecord
{
    public required string Id { get; init; }
    public required string Tenant { get; init; }
    /// <summary>Insertion order, for newest-first listing and cursors.</summary>
    public required long Seq { get; init; }
    public required FitStatus Status { get; init; }
    public string? StopReason { get; init; }
    public int Step { get; init; }
    public required int Steps { get; init; }
    public double[]? Params { get; init; }
    public double? Loss { get; init; }
    /// <summary>The recorded history (or its first entries, when the read was capped), or null when not asked for.</summary>
    public double[]? History { get; init; }
    /// <summary>How many history entries are recorded, when <see cref="History"/> was read (it may hold fewer); else null.</summary>
    public int? HistoryTotal { get; init; }
    public int HistoryEvery { get; init; } = 1;
    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }
    public string? Error { get; init; }
    public required string RequestJson { get; init; }
    public string? Label { get; init; }
    public int Points { get; init; }
    public bool CancelRequested { get; init; }
    public string? BatchId { get; init; }
    public string? RequestHash { get; init; }
    /// <summary>Incremented each time a worker starts the fit; progress of an older attempt is ignored.</summary>
    public int Attempt { get; init; }
    /// <summary><see cref="FitKinds.Fit"/> or <see cref="FitKinds.LearningRateFinder"/>.</summary>
    public string Kind { get; init; } = FitKinds.Fit;
    /// <summary>What the worker computed beside the descent (JSON): the optimum and gap, the finder's choice, or a finder's curve.</summary>
    public string? OutcomeJson { get; init; }
    /// <summary>The W3C traceparent of the request that submitted the fit: its later spans (worker, webhooks) join that trace.</summary>
    public string? TraceParent { get; init; }
}

/// <summary>What became of a create: a new fit, the fit an earlier request with the same idempotency key made, or a conflict.</summary>
public enum CreateOutcome { Created, Existing, Conflict }

public sealed record CreateResult(CreateOutcome Outcome, FitRecord? Fit);

/// <summary>Progress of a running fit: the state after <paramref name="Step"/> updates and the history entries recorded since the last save.</summary>
public sealed record FitProgressUpdate(int Attempt, int Step, double[] Params, double Loss, int HistoryOffset, double[] NewHistory)
{
    /// <summary>
    /// The time the fit's attempt started. A store that ran the start without writing it (<see cref="ChunkStart.Stored"/>)
    /// stores the start with the first progress, so a long fit of a chunk reads running, with its progress, like any other.
    /// </summary>
    public DateTimeOffset? StartedAt { get; init; }
}

/// <summary>The end of a fit, with its whole history (written once, replacing the progress saved so far).</summary>
public sealed record FitCompletion(
    FitStatus Status,
    string StopReason,
    int Step,
    double[] Params,
    double? Loss,
    double[] History,
    string? Error,
    DateTimeOffset FinishedAt,
    string? OutcomeJson = null)
{
    /// <summary>
    /// The outcome's optimum is still to be computed after the end is stored: the store marks the fit so that, should its
    /// worker stop before <see cref="IFitWork.SaveOutcomeAsync"/>, a sweep finds it (<see cref="IFitWork.ListPendingOptimaAsync"/>).
    /// </summary>
    public bool OptimumPending { get; init; }

    /// <summary>
    /// Set when the fit's start was not stored (<see cref="ChunkStart.Stored"/>): the time of that start, which the end stores
    /// with the first attempt's number, in the same write. Null when the start was stored.
    /// </summary>
    public DateTimeOffset? UnstoredStart { get; init; }
}

/// <summary>What a worker should do with a fit it was handed.</summary>
public enum StartOutcome
{
    /// <summary>Run it: it is now running under the returned attempt number.</summary>
    Run,
    /// <summary>It had already ended (a duplicated or retried job): nothing to do.</summary>
    Ended,
    /// <summary>A cancellation was pending; the fit is now cancelled.</summary>
    CancelledNow,
    /// <summary>It was deleted.</summary>
    Missing,
    /// <summary>Another worker holds a live lease on it (shared store only): that worker runs it.</summary>
    Leased,
}

public sealed record StartResult(StartOutcome Outcome, FitRecord? Fit, int Attempt);

/// <summary>One fit's start in a chunk: its outcome, and its points when it is to run (<see cref="StartOutcome.Run"/>).</summary>
public sealed record ChunkStart(string Id, StartResult Start, FitPoints? Points)
{
    /// <summary>
    /// False when the store ran the start without writing it: the fit still reads as queued, and goes straight to its end
    /// when the end is stored with <see cref="FitCompletion.UnstoredStart"/>. True for every start a store wrote.
    /// </summary>
    public bool Stored { get; init; } = true;

    /// <summary>The completion to store for this start: with the start itself when the store did not write it.</summary>
    public FitCompletion Completing(FitCompletion completion) => Stored ? completion : completion with { UnstoredStart = Start.Fit!.StartedAt };
}

public enum CancelOutcome { NotFound, AlreadyEnded, Cancelled, Requested }

/// <summary>Filters and paging for listing fits, newest first.</summary>
public sealed record FitQuery(FitStatus? Status, string? Label, int Limit, long? BeforeSeq, string? BatchId = null);
