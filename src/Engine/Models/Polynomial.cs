using FitService.Engine.Autodiff;

namespace FitService.Engine.Models;

/// <summary>The polynomial model p[0]·x^d + p[1]·x^(d-1) + … + p[d], highest power first (as numpy.polyfit).</summary>
public static class Polynomial
{
    /// <summary>Highest supported degree.</summary>
    public const int MaxDegree = 20;

    /// <summary>The model's graph by Horner's rule: ((p[0]·x + p[1])·x + …)·x + p[d].</summary>
    public static Tensor Build(IReadOnlyList<Tensor> parameters, Tensor x)
    {
        var y = parameters[0];
        for (var k = 1; k < parameters.Count; k++) y = y * x + parameters[k];
        return y;
    }

    /// <summary>The value at one point, by the same Horner's rule.</summary>
    public static double Evaluate(ReadOnlySpan<double> parameters, double x)
    {
        var y = parameters[0];
        for (var k = 1; k < parameters.Length; k++) y = y * x + parameters[k];
        return y;
    }
}
