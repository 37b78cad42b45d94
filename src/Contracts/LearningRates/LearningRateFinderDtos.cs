using System.Text.Json.Serialization;

namespace FitService.Contracts;

/// <summary>
/// A learning-rate finder run (fastai's lr_find): the same problem as a fit (points, model, loss, initial params,
/// optimizer), swept over exponentially growing rates.
/// </summary>
public sealed class LearningRateFinderRequest
{
    /// <summary>The x values of the points.</summary>
    public double[]? X { get; init; }
    /// <summary>The y values of the points.</summary>
    public double[]? Y { get; init; }
    /// <summary>Polynomial degree, 0–20; or give <c>model</c>.</summary>
    public int? Degree { get; init; }
    /// <summary>A formula model instead of the polynomial.</summary>
    public ModelDto? Model { get; init; }
    /// <summary><c>mae</c>, <c>mse</c> or <c>huber</c>.</summary>
    public string? Loss { get; init; }
    /// <summary>δ of the Huber loss; default 1.0.</summary>
    public double? HuberDelta { get; init; }
    /// <summary>Params the sweep starts from; as for a fit.</summary>
    public double[]? InitialParams { get; init; }
    /// <summary>The optimizer, as for a fit; default plain SGD.</summary>
    public OptimizerDto? Optimizer { get; init; }
    /// <summary>Rate of the first update; default 1e-7.</summary>
    public double? StartLearningRate { get; init; }
    /// <summary>Rate the sweep would reach after all its steps; default 10.</summary>
    public double? EndLearningRate { get; init; }
    /// <summary>Updates of the sweep, 10–10,000; default 100. It stops sooner when the smoothed loss exceeds 4× its best.</summary>
    public int? Steps { get; init; }
    /// <summary>Free text, at most 200 characters.</summary>
    public string? Label { get; init; }
}

/// <summary>A finder request as understood, defaults filled in, points counted.</summary>
public sealed record LearningRateFinderSpec
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Degree { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ModelDto? Model { get; init; }
    public required string Loss { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? HuberDelta { get; init; }
    public required int Points { get; init; }
    public required double[] InitialParams { get; init; }
    public required OptimizerDto Optimizer { get; init; }
    public required double StartLearningRate { get; init; }
    public required double EndLearningRate { get; init; }
    public required int Steps { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Label { get; init; }

    /// <summary>The sweep's problem as a fit spec (the finder replaces its rate, schedule and steps).</summary>
    public FitSpec ToFitSpec() => new()
    {
        Degree = Degree, Model = Model, Loss = Loss, HuberDelta = HuberDelta, LearningRate = new LearningRateValue(StartLearningRate),
        Steps = Steps, Points = Points, InitialParams = InitialParams, Optimizer = Optimizer, Schedule = new ScheduleDto { Type = "constant" },
        HistoryEvery = 1,
    };
}

/// <summary>One point of the finder's curve.</summary>
/// <param name="LearningRate">The rate of this update.</param>
/// <param name="Loss">The loss before it (null when not finite).</param>
/// <param name="SmoothedLoss">The debiased moving average (β = 0.98) the suggestions read.</param>
public sealed record FinderPoint(double LearningRate, double? Loss, double? SmoothedLoss);

/// <summary>A learning-rate finder run: its state and, once ended, its curve and suggestions.</summary>
public sealed record LearningRateFinderResource
{
    public required string Id { get; init; }
    /// <summary><c>queued</c> → <c>running</c> → <c>succeeded</c>, <c>failed</c> or <c>cancelled</c>.</summary>
    public required string Status { get; init; }
    /// <summary>Once ended: <c>exploded</c> (the smoothed loss passed 4× its best: the usual end), <c>diverged</c> (non-finite loss), <c>steps</c> (the sweep ran out first: try a larger endLearningRate).</summary>
    public string? StopReason { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }
    public string? Error { get; init; }
    public string? Label { get; init; }
    /// <summary>The rate the finder recommends (what <c>learningRate: "auto"</c> uses): the smaller of the two suggestions.</summary>
    public double? Suggested { get; init; }
    /// <summary>fastai's two suggestions: <c>steep</c> (fastest fall of the smoothed loss) and <c>minimum</c> (rate of the lowest smoothed loss ÷ 10).</summary>
    public LearningRateSuggestions? Suggestions { get; init; }
    /// <summary>Rate, loss and smoothed loss of each update of the sweep, once ended.</summary>
    public IReadOnlyList<FinderPoint>? Curve { get; init; }
    public required LearningRateFinderSpec Request { get; init; }
}
