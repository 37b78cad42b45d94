namespace FitService.Contracts;

/// <summary>Many fits in one request: each item overrides the defaults field by field.</summary>
public sealed class BatchRequest
{
    /// <summary>Fit fields shared by every item (any field of a fit request).</summary>
    public FitRequest? Defaults { get; init; }

    /// <summary>The fits, 1 to <c>Limits:MaxBatchFits</c>; each item's fields win over the defaults.</summary>
    public FitRequest[]? Fits { get; init; }

    /// <summary>Free text for the client, at most 200 characters.</summary>
    public string? Label { get; init; }

    /// <summary>Called once, with a <c>batch.completed</c> event, when every fit of the batch has ended (same signing and retries as a fit's webhook).</summary>
    public WebhookDto? Webhook { get; init; }
}

/// <summary>What a batch stores beside its fits.</summary>
/// <param name="Webhook">Where the <c>batch.completed</c> event goes, if anywhere.</param>
public sealed record BatchSpec(WebhookDto? Webhook);

/// <summary>How many fits of a batch are in each status.</summary>
public sealed record BatchCounts(int Queued, int Running, int Succeeded, int Failed, int Cancelled);

/// <summary>A batch of fits: its progress and the ids of its fits in submission order.</summary>
/// <param name="Id">The batch's id.</param>
/// <param name="Status"><c>queued</c> (none started), <c>running</c>, or <c>completed</c> (every fit ended).</param>
/// <param name="Total">Number of fits.</param>
/// <param name="Counts">Fits by status.</param>
/// <param name="Progress">Fraction of the fits that have ended, 0 to 1.</param>
/// <param name="FitIds">The fits' ids, in the order of the request's items.</param>
/// <param name="CreatedAt">When the batch was accepted.</param>
/// <param name="Label">The client's label.</param>
public sealed record BatchResource(
    string Id, string Status, int Total, BatchCounts Counts, double Progress, IReadOnlyList<string> FitIds, DateTimeOffset CreatedAt, string? Label);

/// <summary>One line of a batch's results.</summary>
/// <param name="Index">The item's position in the request.</param>
/// <param name="Id">The fit's id.</param>
/// <param name="Label">The item's label.</param>
/// <param name="Status">The fit's status.</param>
/// <param name="StopReason">Why it ended.</param>
/// <param name="Loss">Final loss (null while running or when not finite).</param>
/// <param name="Params">Final parameters, highest power first.</param>
/// <param name="Error">Why it failed.</param>
public sealed record BatchResult(int Index, string Id, string? Label, string Status, string? StopReason, double? Loss, double[]? Params, string? Error);

public static class FitRequestDefaults
{
    /// <summary>
    /// True when the item sets no field (<c>{}</c>): over any defaults it is the defaults themselves. Every field
    /// <see cref="Over"/> merges is named here.
    /// </summary>
    public static bool SetsNothing(this FitRequest item) => item is
    {
        X: null, Y: null, Weights: null, Degree: null, Model: null, Solver: null, Loss: null, HuberDelta: null, LearningRate: null,
        Steps: null, InitialParams: null, Optimizer: null, Schedule: null, Stop: null, HistoryEvery: null, Webhook: null, Label: null,
        Standardize: null, Seed: null, BatchSize: null, Shuffle: null, Epochs: null, HistoryPerEpoch: null,
    };

    /// <summary>The item with every field it leaves out taken from <paramref name="defaults"/>.</summary>
    public static FitRequest Over(this FitRequest item, FitRequest? defaults) => defaults is null ? item : new FitRequest
    {
        X = item.X ?? defaults.X,
        Y = item.Y ?? defaults.Y,
        Weights = item.Weights ?? defaults.Weights,
        Degree = item.Degree ?? (item.Model is null ? defaults.Degree : null),
        Model = item.Model ?? (item.Degree is null ? defaults.Model : null),
        Solver = item.Solver ?? defaults.Solver,
        Loss = item.Loss ?? defaults.Loss,
        HuberDelta = item.HuberDelta ?? defaults.HuberDelta,
        LearningRate = item.LearningRate ?? defaults.LearningRate,
        Steps = item.Steps ?? (item.Epochs is null ? defaults.Steps : null),
        InitialParams = item.InitialParams ?? defaults.InitialParams,
        Optimizer = item.Optimizer ?? defaults.Optimizer,
        Schedule = item.Schedule ?? defaults.Schedule,
        Stop = item.Stop ?? defaults.Stop,
        HistoryEvery = item.HistoryEvery ?? defaults.HistoryEvery,
        Webhook = item.Webhook ?? defaults.Webhook,
        Label = item.Label ?? defaults.Label,
        Standardize = item.Standardize ?? defaults.Standardize,
        Seed = item.Seed ?? defaults.Seed,
        BatchSize = item.BatchSize ?? defaults.BatchSize,
        Shuffle = item.Shuffle ?? defaults.Shuffle,
        Epochs = item.Epochs ?? (item.Steps is null ? defaults.Epochs : null),
        HistoryPerEpoch = item.HistoryPerEpoch ?? defaults.HistoryPerEpoch,
    };
}
