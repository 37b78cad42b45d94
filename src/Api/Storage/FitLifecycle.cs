namespace FitService.Api.Storage;

/// <summary>
/// The rules of a fit's lifecycle that both stores apply to the row they read (and hold) inside one write: whether a
/// start runs the fit, under which attempt, and what a cancellation does. The stores only write what these decide.
/// </summary>
internal static class FitLifecycle
{
    /// <summary>A start that must not run the fit as read: it is gone, or it has ended. Null when it may run.</summary>
    public static StartResult? StartRefused(FitRecord? fit) =>
        fit is null ? new StartResult(StartOutcome.Missing, null, 0)
        : fit.Status.IsEnded() ? new StartResult(StartOutcome.Ended, fit, fit.Attempt)
        : null;

    /// <summary>A start of a fit whose cancellation is pending: the fit ends as cancelled instead of running.</summary>
    public static StartResult CancelledAtStart(FitRecord fit) =>
        new(StartOutcome.CancelledNow, fit with { Status = FitStatus.Cancelled }, fit.Attempt);

    /// <summary>
    /// A start that runs the fit under the next attempt number (progress of earlier attempts is dropped by the store);
    /// the time of the first start is kept.
    /// </summary>
    public static StartResult Started(FitRecord fit, DateTimeOffset at)
    {
        var attempt = fit.Attempt + 1;
        return new StartResult(StartOutcome.Run, fit with { Status = FitStatus.Running, Attempt = attempt, StartedAt = fit.StartedAt ?? at }, attempt);
    }

    /// <summary>
    /// Whether a chunk may run the fit without storing its start (SQLite): a fit queued and never started, with no
    /// cancellation pending. Such a fit has no history and no attempt to count yet; the chunk's end stores the first attempt
    /// and the start's time with the result, in one write (or its first progress, should it run long enough to save any,
    /// stores the start then). Until then it reads as queued: a cancellation ends it at once,
    /// and the end, which stores only fits that have not ended, then leaves it cancelled; a crash leaves it queued, and
    /// recovery runs it again.
    /// </summary>
    public static bool MayStartUnstored(FitRecord fit) => fit is { Status: FitStatus.Queued, Attempt: 0, CancelRequested: false };

    /// <summary>
    /// Whether a start must drop history saved before it. History is saved only by a running attempt, so a queued fit never
    /// started (attempt 0) has none, and its start need not look.
    /// </summary>
    public static bool MayHaveHistory(FitRecord fit) => fit.Status != FitStatus.Queued || fit.Attempt > 0;

    /// <summary>
    /// A new fit as it reads once stored, queued (times kept to the millisecond, as stored): what a create answers, and what a
    /// fit run on its request starts from. The caller sets <see cref="FitRecord.Seq"/> once the row has one.
    /// </summary>
    public static FitRecord Queued(NewFit fit) => new()
    {
        Id = fit.Id, Tenant = fit.Tenant, Seq = 0, Status = FitStatus.Queued, Steps = fit.Steps, HistoryEvery = fit.HistoryEvery,
        CreatedAt = Millis(fit.CreatedAt), RequestJson = fit.RequestJson, Label = fit.Label, Points = fit.X.Length, BatchId = fit.BatchId,
        RequestHash = fit.RequestHash, Kind = fit.Kind, TraceParent = fit.TraceParent,
    };

    /// <summary>
    /// A fit stored already ended (it ran on its request before it was stored, see <c>InlineFits</c>): the record both
    /// stores write and answer, as a queued fit would read once its worker ended it (first attempt, its whole history),
    /// times kept to the millisecond as stored. The caller sets <see cref="FitRecord.Seq"/> once the row has one.
    /// </summary>
    public static FitRecord EndedAtOnce(NewFit fit, DateTimeOffset startedAt, FitCompletion completion) =>
        Ended(Started(Queued(fit), startedAt).Fit!, completion);

    /// <summary>
    /// The fit as it reads once <paramref name="completion"/> is stored (by <c>CompleteAsync</c> or <c>CompleteManyAsync</c>)
    /// over the record a worker started from, with its whole history: what the end's handlers build on (a webhook's payload)
    /// without reading the fit back. Times are kept to the millisecond, as stored.
    /// </summary>
    public static FitRecord Ended(FitRecord started, FitCompletion completion) => started with
    {
        Status = completion.Status,
        StopReason = completion.StopReason,
        Step = completion.Step,
        Params = completion.Params,
        Loss = completion.Loss is { } loss && double.IsFinite(loss) ? loss : null,
        History = completion.History,
        HistoryTotal = completion.History.Length,
        StartedAt = started.StartedAt is { } at ? Millis(at) : null,
        FinishedAt = Millis(completion.FinishedAt),
        Error = completion.Error,
        OutcomeJson = completion.OutcomeJson,
    };

    /// <summary>A time as stored: to the millisecond.</summary>
    public static DateTimeOffset Millis(DateTimeOffset t) => DateTimeOffset.FromUnixTimeMilliseconds(t.ToUnixTimeMilliseconds());

    /// <summary>
    /// What a cancellation does to the fit as read: a queued fit is cancelled at once (<see cref="CancelOutcome.Cancelled"/>),
    /// a running one is asked to stop (<see cref="CancelOutcome.Requested"/>); an ended or missing one is left alone.
    /// </summary>
    public static CancelOutcome Cancel(FitRecord? fit) =>
        fit is null ? CancelOutcome.NotFound
        : fit.Status.IsEnded() ? CancelOutcome.AlreadyEnded
        : fit.Status == FitStatus.Queued ? CancelOutcome.Cancelled
        : CancelOutcome.Requested;
}
