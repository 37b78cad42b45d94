namespace FitService.Contracts;

/// <summary>New x values to put through a fitted model.</summary>
public sealed class PredictRequest
{
    /// <summary>The x values; 1 to <c>Limits:MaxPoints</c> finite numbers, or rows of as many features as the fit's x (network models).</summary>
    public XValues? X { get; init; }
}

/// <summary>The model's values at the requested x, in the same order.</summary>
/// <param name="Y">f(x) at the fit's params; null where not finite (e.g. exp overflowing in a formula). With <c>loss: bce</c>, the logits.</param>
public sealed record PredictResult(double?[] Y)
{
    /// <summary>With <c>loss: bce</c>: the probabilities σ(y) that the label is 1; absent for other losses.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public double?[]? Probabilities { get; init; }
}
