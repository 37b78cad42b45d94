using System.Text.Json;
using System.Text.Json.Serialization;
using FitService.Engine.Exact;
using FitService.Engine.LearningRates;

namespace FitService.Api.Fits;

/// <summary>
/// What the worker computes beside a descent, stored as JSON with the fit: the exact optimum and the gap, the rate the
/// finder chose for <c>learningRate: "auto"</c>, or (for a finder run) its curve.
/// </summary>
public sealed record FitOutcome
{
    public OptimumDto? Optimum { get; init; }
    public double? Gap { get; init; }
    public string? OptimumError { get; init; }
    /// <summary>True while the optimum of an ended descent fit is still being computed (it is stored after the fit's end).</summary>
    public bool? OptimumPending { get; init; }
    public double? LearningRateChosen { get; init; }
    public LearningRateSuggestions? LearningRateSuggestions { get; init; }
    public FinderCurve? Finder { get; init; }
    public FitStatistics? Statistics { get; init; }
    /// <summary>The means and scales a network fit with <c>standardize</c> ran on; predictions apply them.</summary>
    public StandardizationDto? Standardization { get; init; }

    /// <summary>
    /// Stored JSON may hold ∞ (a singular matrix's condition number), which plain JSON cannot; and fields a newer worker
    /// wrote (the stored format is read by workers of either version) are skipped rather than refused.
    /// </summary>
    public static readonly JsonSerializerOptions Storage = new(FitRequestReader.Strict)
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Storage);

    public static FitOutcome? FromJson(string? json) => json is null ? null : JsonSerializer.Deserialize<FitOutcome>(json, Storage);

    public static OptimumDto ToDto(ExactOptimum o) =>
        new(o.Params, double.IsFinite(o.Loss) ? o.Loss : null, FitMapper.FiniteOrNull(o.ConditionNumber), FitMapper.FiniteOrNull(o.ScaledConditionNumber), o.Method, o.Warning)
        {
            Iterations = o.Iterations,
            GradientNorm = o.GradientNorm,
        };
}

/// <summary>A finder run's curve as stored: rates, raw and smoothed losses, suggestions.</summary>
public sealed record FinderCurve(double[] LearningRates, double[] Losses, double[] SmoothedLosses, double? Steep, double? Minimum, double? Suggested)
{
    public static FinderCurve From(LearningRateFinderResult r) => new(r.LearningRates, r.Losses, r.SmoothedLosses, r.Steep, r.Minimum, r.Suggested);
}
