namespace FitService.Engine.Networks;

/// <summary>
/// Per-feature means and scales, as sklearn's <c>StandardScaler</c>: mean of the column, scale = its population standard
/// deviation (divisor n, not n − 1), and scale 1 for a column whose deviation is 0 (a constant column is then only centred).
/// A row x is standardized to (xᵢ − meanᵢ) / scaleᵢ. Sums run in point order (deterministic); the variance is the mean of
/// squared deviations from the mean (two passes).
/// </summary>
/// <param name="Means">The mean of each feature.</param>
/// <param name="Scales">The scale of each feature (never 0).</param>
public sealed record Standardization(double[] Means, double[] Scales)
{
    /// <summary>The means and scales of the columns of <paramref name="x"/> (n rows of <paramref name="features"/> values, row-major).</summary>
    public static Standardization Of(ReadOnlySpan<double> x, int features)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(features, 1);
        var n = x.Length / features;
        if (n == 0) throw new ArgumentException("no rows", nameof(x));
        var means = new double[features];
        var scales = new double[features];
        for (var f = 0; f < features; f++)
        {
            var sum = 0.0;
            for (var i = 0; i < n; i++) sum += x[i * features + f];
            var mean = sum / n;
            var squares = 0.0;
            for (var i = 0; i < n; i++)
            {
                var d = x[i * features + f] - mean;
                squares += d * d;
            }
            var std = Math.Sqrt(squares / n);
            means[f] = mean;
            scales[f] = std == 0.0 || !double.IsFinite(std) ? 1.0 : std;
        }
        return new Standardization(means, scales);
    }

    /// <summary>The rows of <paramref name="x"/> standardized (a new array, row-major like the input).</summary>
    public double[] Apply(ReadOnlySpan<double> x)
    {
        var features = Means.Length;
        var result = new double[x.Length];
        for (var i = 0; i < x.Length; i++) result[i] = (x[i] - Means[i % features]) / Scales[i % features];
        return result;
    }
}
