namespace FitService.Engine.Networks;

/// <summary>
/// Per-feature means and scales, as sklearn's <c>StandardScaler</c>: mean of the column, scale = its population standard
/// deviation (divisor n, not n − 1), and scale 1 for a column whose deviation is 0 (a constant column is then only centred).
/// A row x is standardized to (xᵢ − meanᵢ) / scaleᵢ. Sums run in point order (deterministic); the variance is the mean of
/// squared deviations from the mean (two passes). A column whose sums overflow (values near ±1.8e308) is measured divided by its
/// largest magnitude, and a difference from the mean that overflows is taken scaled: every finite column gets finite means and scales.
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
            // Values near ±1.8e308 overflow the sums: the same two passes then run on the column divided by its largest magnitude.
            if (!double.IsFinite(mean) || !double.IsFinite(std)) (mean, std) = OfScaled(x, features, f, n);
            means[f] = mean;
            scales[f] = std == 0.0 || !double.IsFinite(std) ? 1.0 : std;
        }
        return new Standardization(means, scales);
    }

    /// <summary>Mean and deviation of column <paramref name="f"/> computed on the column divided by its largest magnitude (never overflows).</summary>
    private static (double Mean, double Std) OfScaled(ReadOnlySpan<double> x, int features, int f, int n)
    {
        var largest = 0.0;
        for (var i = 0; i < n; i++) largest = Math.Max(largest, Math.Abs(x[i * features + f]));
        var sum = 0.0;
        for (var i = 0; i < n; i++) sum += x[i * features + f] / largest;
        var mean = sum / n;
        var squares = 0.0;
        for (var i = 0; i < n; i++)
        {
            var d = x[i * features + f] / largest - mean;
            squares += d * d;
        }
        return (mean * largest, Math.Sqrt(squares / n) * largest);
    }

    /// <summary>The rows of <paramref name="x"/> standardized (a new array, row-major like the input).</summary>
    public double[] Apply(ReadOnlySpan<double> x)
    {
        var features = Means.Length;
        var result = new double[x.Length];
        for (var i = 0; i < x.Length; i++)
        {
            var (mean, scale) = (Means[i % features], Scales[i % features]);
            result[i] = (x[i] - mean) / scale;
            // x and the mean on either side of 0 near ±1.8e308: their difference overflows, its scaled form does not.
            if (!double.IsFinite(result[i])) result[i] = x[i] / scale - mean / scale;
        }
        return result;
    }
}
