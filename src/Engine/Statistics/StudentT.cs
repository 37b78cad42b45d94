namespace FitService.Engine.Statistics;

/// <summary>
/// Student's t distribution: tail probabilities and quantiles to double precision, as scipy.stats.t.sf and t.ppf (which
/// statsmodels uses for p-values and confidence intervals), through the regularized incomplete beta function.
/// </summary>
public static class StudentT
{
    /// <summary>P(T &gt; t) for <paramref name="degreesOfFreedom"/> &gt; 0.</summary>
    public static double UpperTail(double t, double degreesOfFreedom)
    {
        if (double.IsNaN(t) || !(degreesOfFreedom > 0)) return double.NaN;
        if (double.IsPositiveInfinity(t)) return 0;
        if (double.IsNegativeInfinity(t)) return 1;
        var t2 = t * t;
        // x = ν/(ν+t²) and 1 − x = t²/(ν+t²), each computed directly so neither loses digits to cancellation.
        var v = degreesOfFreedom;
        // log x = −log1p(t²/ν) keeps its digits for x near 1, where ν/2·log x with a large ν would amplify any error.
        var half = 0.5 * IncompleteBeta.Regularized(v / 2, 0.5, v / (v + t2), t2 / (v + t2), -IncompleteBeta.Log1p(t2 / v));
        return t >= 0 ? half : 1 - half;
    }

    /// <summary>Two-sided p-value 2·P(T &gt; |t|), as statsmodels reports for a t-value.</summary>
    public static double TwoSidedP(double t, double degreesOfFreedom) => Math.Min(1, 2 * UpperTail(Math.Abs(t), degreesOfFreedom));

    /// <summary>The density of T at <paramref name="t"/>.</summary>
    public static double Density(double t, double degreesOfFreedom)
    {
        var v = degreesOfFreedom;
        return Math.Exp(-IncompleteBeta.LogBeta(v / 2, 0.5) - 0.5 * Math.Log(v) - (v + 1) / 2 * Math.Log(1 + t * t / v));
    }

    /// <summary>The t with P(T ≤ t) = <paramref name="p"/>, for 0 &lt; p &lt; 1 (scipy.stats.t.ppf).</summary>
    public static double Quantile(double p, double degreesOfFreedom)
    {
        if (!(p > 0 && p < 1) || !(degreesOfFreedom > 0)) return double.NaN;
        if (p == 0.5) return 0;
        if (p < 0.5) return -Quantile(1 - p, degreesOfFreedom);
        var tail = 1 - p;
        // Start from the normal quantile, corrected for small ν; Newton's method on log P(T > t) then converges quadratically.
        var z = Normal.UpperQuantile(tail);
        var v = degreesOfFreedom;
        var t = z + (z * z * z + z) / (4 * v) + (5 * Math.Pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * v * v);
        if (!(t > 0) || double.IsInfinity(t)) t = z;
        double lo = 0, hi = double.PositiveInfinity;
        for (var i = 0; i < 200; i++)
        {
            var upper = UpperTail(t, v);
            if (upper > tail) lo = t; else hi = t;
            var step = (upper - tail) / Density(t, v);
            var next = t + step;
            // Keep inside the bracket: where Newton overshoots, bisect (or double towards an unknown upper bound).
            if (!(next > lo && next < hi)) next = double.IsPositiveInfinity(hi) ? Math.Max(2 * t, lo + 1) : (lo + hi) / 2;
            if (Math.Abs(next - t) <= 1e-15 * Math.Abs(next)) return next;
            t = next;
        }
        return t;
    }
}

/// <summary>The standard normal distribution's upper quantile, as a starting point for <see cref="StudentT.Quantile"/>.</summary>
internal static class Normal
{
    /// <summary>The z with P(Z &gt; z) = <paramref name="q"/> (Acklam's rational approximation, relative error about 1e-9).</summary>
    public static double UpperQuantile(double q)
    {
        double[] a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00];
        double[] b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01];
        double[] c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00];
        double[] d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00];
        var p = 1 - q;
        if (q < 0.02425)
        {
            var s = Math.Sqrt(-2 * Math.Log(q));
            return -(((((c[0] * s + c[1]) * s + c[2]) * s + c[3]) * s + c[4]) * s + c[5]) / ((((d[0] * s + d[1]) * s + d[2]) * s + d[3]) * s + 1);
        }
        if (p < 0.02425)
        {
            var s = Math.Sqrt(-2 * Math.Log(p));
            return (((((c[0] * s + c[1]) * s + c[2]) * s + c[3]) * s + c[4]) * s + c[5]) / ((((d[0] * s + d[1]) * s + d[2]) * s + d[3]) * s + 1);
        }
        var u = p - 0.5;
        var r = u * u;
        return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * u / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    }
}

/// <summary>The regularized incomplete beta function I_x(a, b) and log B(a, b).</summary>
internal static class IncompleteBeta
{
    /// <summary>I_x(a, b), given x and 1 − x (so the caller can compute whichever is small without cancellation).</summary>
    public static double Regularized(double a, double b, double x, double oneMinusX, double logX)
    {
        if (x <= 0) return 0;
        if (oneMinusX <= 0) return 1;
        var front = Math.Exp(a * logX + b * Math.Log(oneMinusX) - LogBeta(a, b));
        // The continued fraction converges fast for x < (a+1)/(a+b+2); otherwise use I_x(a,b) = 1 − I_{1−x}(b,a).
        return x < (a + 1) / (a + b + 2)
            ? front * ContinuedFraction(a, b, x) / a
            : 1 - front * ContinuedFraction(b, a, oneMinusX) / b;
    }

    /// <summary>Lentz's evaluation of the incomplete beta continued fraction (Numerical Recipes' betacf).</summary>
    private static double ContinuedFraction(double a, double b, double x)
    {
        const double Tiny = 1e-300;
        var qab = a + b;
        var qap = a + 1;
        var qam = a - 1;
        var c = 1.0;
        var d = 1 - qab * x / qap;
        if (Math.Abs(d) < Tiny) d = Tiny;
        d = 1 / d;
        var h = d;
        var limit = 1000 + (int)Math.Min(1e6, 20 * Math.Sqrt(Math.Max(a, b)));
        for (var m = 1; m <= limit; m++)
        {
            var m2 = 2 * m;
            var aa = m * (b - m) * x / ((qam + m2) * (a + m2));
            d = 1 + aa * d;
            if (Math.Abs(d) < Tiny) d = Tiny;
            c = 1 + aa / c;
            if (Math.Abs(c) < Tiny) c = Tiny;
            d = 1 / d;
            h *= d * c;
            aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
            d = 1 + aa * d;
            if (Math.Abs(d) < Tiny) d = Tiny;
            c = 1 + aa / c;
            if (Math.Abs(c) < Tiny) c = Tiny;
            d = 1 / d;
            var delta = d * c;
            h *= delta;
            if (Math.Abs(delta - 1) < 1e-16) break;
        }
        return h;
    }

    /// <summary>log(1 + u) to full precision for small u too (Goldberg's correction of the rounding in 1 + u).</summary>
    public static double Log1p(double u)
    {
        var onePlus = 1 + u;
        return onePlus == 1 ? u : Math.Log(onePlus) * u / (onePlus - 1);
    }

    /// <summary>log B(a, b) = log Γ(a) + log Γ(b) − log Γ(a+b), without the cancellation that large arguments cause.</summary>
    public static double LogBeta(double a, double b)
    {
        var (small, large) = a < b ? (a, b) : (b, a);
        if (large < 10) return LogGamma(a) + LogGamma(b) - LogGamma(a + b);
        // Stirling for the two large terms: their difference is −(L−½)·log1p(s/L) − s·log(L+s) + s + corr(L) − corr(L+s).
        var sum = small + large;
        var difference = -(large - 0.5) * Log1p(small / large) - small * Math.Log(sum) + small + StirlingCorrection(large) - StirlingCorrection(sum);
        if (small >= 10)
        {
            // Both large: log Γ(s) by Stirling too.
            return (small - 0.5) * Math.Log(small) - small + 0.5 * Math.Log(2 * Math.PI) + StirlingCorrection(small) + difference;
        }
        return LogGamma(small) + difference;
    }

    /// <summary>log Γ(x) for x &gt; 0: Lanczos below 10, Stirling's series above.</summary>
    public static double LogGamma(double x)
    {
        if (x >= 10) return (x - 0.5) * Math.Log(x) - x + 0.5 * Math.Log(2 * Math.PI) + StirlingCorrection(x);
        // Shift up to x ≥ 10 with Γ(x) = Γ(x+k) / (x(x+1)…(x+k−1)): Stirling's series is accurate to rounding there.
        var product = 1.0;
        var shifted = x;
        while (shifted < 10)
        {
            product *= shifted;
            shifted += 1;
        }
        return LogGamma(shifted) - Math.Log(product);
    }

    /// <summary>log Γ(x) − [(x−½)·log x − x + ½·log 2π], Stirling's series, for x ≥ 10 (error below 1e-17).</summary>
    private static double StirlingCorrection(double x)
    {
        var r = 1 / x;
        var r2 = r * r;
        return r * (1.0 / 12 - r2 * (1.0 / 360 - r2 * (1.0 / 1260 - r2 * (1.0 / 1680 - r2 * (1.0 / 1188 - r2 * (691.0 / 360360 - r2 / 156.0))))));
    }
}
