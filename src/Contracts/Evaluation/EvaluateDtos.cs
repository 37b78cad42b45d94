namespace FitService.Contracts;

/// <summary>The loss of a model (a polynomial, a formula or a network) with given params on given points: the lesson's "drag the sliders and watch the loss".</summary>
public sealed class EvaluateRequest
{
    /// <summary>The x values of the points; 1 to <c>Limits:MaxPoints</c> finite numbers, or rows of features for a network model.</summary>
    public XValues? X { get; init; }

    /// <summary>The y values of the points; as many as <c>x</c>, all finite.</summary>
    public double[]? Y { get; init; }

    /// <summary>Optional per-point weights (as many as <c>x</c>, finite, ≥ 0, not all 0): the loss is the weighted mean Σwᵢℓ(rᵢ)/Σwᵢ, as a weighted fit computes it.</summary>
    public double[]? Weights { get; init; }

    /// <summary>Polynomial degree d, 0–20; or give <c>model</c>.</summary>
    public int? Degree { get; init; }

    /// <summary>A formula or network model instead of the polynomial, as for a fit (see docs/models.md).</summary>
    public ModelDto? Model { get; init; }

    /// <summary><c>mae</c>, <c>mse</c> or <c>huber</c>, exactly as a fit computes them.</summary>
    public string? Loss { get; init; }

    /// <summary>δ of the Huber loss; &gt; 0; default 1.0. Only with <c>loss: huber</c>.</summary>
    public double? HuberDelta { get; init; }

    /// <summary>The parameters, highest power first (length degree+1); a formula's in its order; a network's in state_dict order.</summary>
    public double[]? Params { get; init; }
}

/// <summary>The loss at the given params.</summary>
/// <param name="Loss">As a fit's history would record it at these params; null when not finite.</param>
public sealed record EvaluateResult(double? Loss);
