namespace FitService.Contracts;

/// <summary>The values of a fit's <c>solver</c>.</summary>
public static class FitSolvers
{
    /// <summary>Gradient descent (the default).</summary>
    public const string Descent = "descent";

    /// <summary>The optimum computed directly (polynomials only).</summary>
    public const string Exact = "exact";
}
