using FitService.Engine.Autodiff;

namespace FitService.Engine.Models;

/// <summary>The polynomial model p[0]·x^d + p[1]·x^(d-1) + … + p[d], highest power first (as numpy.polyfit).</summary>
public static class Polynomial
{
    /// <summary>Highest supported degree.</summary>
    public const int MaxDegree = 20;

    /// <summary>The number of params of a polynomial of <paramref name="degree"/> (degree + 1), or null when the degree is absent or out of range.</summary>
    public static int? ParameterCount(int? degree) => degree is >= 0 and <= MaxDegree ? degree + 1 : null;

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

    /// <summary>
    /// The params in powers of x of the polynomial whose params in powers of x' = (x − <paramref name="center"/>) / <paramref name="halfRange"/>
    /// are <paramref name="scaled"/> (both highest power first): the same curve, expanded by Horner's rule in polynomial arithmetic.
    /// </summary>
    public static double[] Unscale(ReadOnlySpan<double> scaled, double center, double halfRange)
    {
        var a = 1 / halfRange;
        var b = -center / halfRange;
        // Lowest power first while expanding: result = (…(q0·x' + q1)·x' + …)·x' + qd with x' = a·x + b.
        var result = new double[scaled.Length];
        var length = 1;
        result[0] = scaled[0];
        for (var k = 1; k < scaled.Length; k++)
        {
            for (var i = length; i >= 1; i--) result[i] = result[i] * b + result[i - 1] * a;
            result[0] = result[0] * b + scaled[k];
            length++;
        }
        Array.Reverse(result);
        return result;
    }
}
