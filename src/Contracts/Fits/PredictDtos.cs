namespace FitService.Contracts;

/// <summary>New x values to put through a fitted model.</summary>
public sealed class PredictRequest
{
    /// <summary>The x values; 1 to <c>Limits:MaxPoints</c> finite numbers.</summary>
    public double[]? X { get; init; }
}

/// <summary>The model's values at the requested x, in the same order.</summary>
/// <param name="Y">f(x) at the fit's params; null where not finite (e.g. exp overflowing in a formula).</param>
public sealed record PredictResult(double?[] Y);
