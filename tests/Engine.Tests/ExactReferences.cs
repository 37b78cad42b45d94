using System.Numerics;

namespace FitService.Engine.Tests;

/// <summary>Independent references for the exact solvers: exact rational least squares, LAD by vertex enumeration, Huber by long IRLS.</summary>
internal static class ExactReferences
{
    /// <summary>An exact rational p/q (q &gt; 0), enough for least squares on a few dozen points.</summary>
    public readonly record struct Rational(BigInteger P, BigInteger Q)
    {
        public static readonly Rational Zero = new(0, 1);

        public static Rational Of(double value)
        {
            // Every finite double is m·2^e exactly.
            var bits = BitConverter.DoubleToInt64Bits(value);
            var negative = bits < 0;
            var exponent = (int)((bits >> 52) & 0x7FF);
            var mantissa = bits & 0xFFFFFFFFFFFFFL;
            if (exponent == 0) exponent++; else mantissa |= 1L << 52;
            exponent -= 1075;
            BigInteger p = negative ? -mantissa : mantissa;
            return exponent >= 0 ? new Rational(p << exponent, 1).Reduce() : new Rational(p, BigInteger.One << -exponent).Reduce();
        }

        private Rational Reduce()
        {
            var g = BigInteger.GreatestCommonDivisor(P, Q);
            if (g.IsZero) return Zero;
            var sign = Q.Sign;
            return new Rational(sign * P / g, sign * Q / g);
        }

        public static Rational operator +(Rational a, Rational b) => new Rational(a.P * b.Q + b.P * a.Q, a.Q * b.Q).Reduce();
        public static Rational operator -(Rational a, Rational b) => new Rational(a.P * b.Q - b.P * a.Q, a.Q * b.Q).Reduce();
        public static Rational operator *(Rational a, Rational b) => new Rational(a.P * b.P, a.Q * b.Q).Reduce();
        public static Rational operator /(Rational a, Rational b) => new Rational(a.P * b.Q, a.Q * b.P).Reduce();
        public bool IsZero => P.IsZero;
        public double ToDouble()
        {
            // 64 significant bits of the quotient, then scaled: correct to the last bit of a double (but one rounding).
            var shift = (int)(Q.GetBitLength() - BigInteger.Abs(P).GetBitLength()) + 64;
            var quotient = shift >= 0 ? (P << shift) / Q : P / (Q << -shift);
            return Math.ScaleB((double)quotient, -shift);
        }
    }

    /// <summary>
    /// The least-squares minimum of the MSE, exactly (normal equations in rationals): numpy.polyfit's answer without rounding.
    /// With weights, the minimum of Σwᵢrᵢ²/Σwᵢ (weighted least squares, as statsmodels' WLS), also exactly.
    /// </summary>
    public static double ExactLeastSquaresLoss(double[] x, double[] y, int degree, double[]? weights = null)
    {
        var m = degree + 1;
        var xs = x.Select(Rational.Of).ToArray();
        var ys = y.Select(Rational.Of).ToArray();
        var ws = (weights ?? Enumerable.Repeat(1.0, x.Length).ToArray()).Select(Rational.Of).ToArray();
        var powers = xs.Select(v =>
        {
            var p = new Rational[2 * degree + 1];
            p[0] = new Rational(1, 1);
            for (var k = 1; k < p.Length; k++) p[k] = p[k - 1] * v;
            return p;
        }).ToArray();
        var a = new Rational[m, m + 1];
        for (var i = 0; i < m; i++)
        {
            for (var j = 0; j < m; j++)
            {
                var sum = Rational.Zero;
                for (var n = 0; n < xs.Length; n++) sum += ws[n] * powers[n][i + j];
                a[i, j] = sum;
            }
            var b = Rational.Zero;
            for (var n = 0; n < xs.Length; n++) b += ws[n] * ys[n] * powers[n][i];
            a[i, m] = b;
        }
        for (var k = 0; k < m; k++)
        {
            var pivot = Enumerable.Range(k, m - k).First(i => !a[i, k].IsZero);
            for (var j = 0; j <= m; j++) (a[k, j], a[pivot, j]) = (a[pivot, j], a[k, j]);
            for (var i = k + 1; i < m; i++)
            {
                var f = a[i, k] / a[k, k];
                for (var j = k; j <= m; j++) a[i, j] -= f * a[k, j];
            }
        }
        var c = new Rational[m];
        for (var i = m - 1; i >= 0; i--)
        {
            var sum = a[i, m];
            for (var j = i + 1; j < m; j++) sum -= a[i, j] * c[j];
            c[i] = sum / a[i, i];
        }
        var total = Rational.Zero;
        for (var n = 0; n < xs.Length; n++)
        {
            var fitted = Rational.Zero;
            for (var k = 0; k < m; k++) fitted += c[k] * powers[n][k];
            var r = ys[n] - fitted;
            total += ws[n] * r * r;
        }
        var weightSum = Rational.Zero;
        foreach (var w in ws) weightSum += w;
        return total.IsZero ? 0 : (total / weightSum).ToDouble();
    }

    /// <summary>
    /// The LAD minimum by enumerating vertices: an optimum of the linear program interpolates r points with distinct x,
    /// r = min(d+1, distinct x values) (a polynomial of degree r−1 spans every fit the data allow). Tries every such set.
    /// With weights, the minimum of Σwᵢ|rᵢ|/Σwᵢ: still a linear program with its optima at vertices, now of the points of
    /// positive weight (points of weight 0 are dropped first, as they do not constrain the optimum).
    /// </summary>
    public static double LeastAbsoluteDeviationsByVertices(double[] x, double[] y, int degree, double[]? weights = null)
    {
        if (weights is not null)
        {
            var kept = Enumerable.Range(0, x.Length).Where(i => weights[i] > 0).ToArray();
            (x, y, weights) = ([.. kept.Select(i => x[i])], [.. kept.Select(i => y[i])], [.. kept.Select(i => weights[i])]);
        }
        var w = weights ?? Enumerable.Repeat(1.0, x.Length).ToArray();
        var n = x.Length;
        var r = Math.Min(degree + 1, x.Distinct().Count());
        var best = double.PositiveInfinity;
        foreach (var set in Subsets(n, r))
        {
            if (set.Select(i => x[i]).Distinct().Count() < r) continue;
            var c = Interpolate([.. set.Select(i => x[i])], [.. set.Select(i => y[i])]);
            var loss = 0.0;
            for (var i = 0; i < n; i++) loss += w[i] * Math.Abs(y[i] - Newton(c, [.. set.Select(k => x[k])], x[i]));
            best = Math.Min(best, loss / w.Sum());
        }
        return best;
    }

    private static IEnumerable<int[]> Subsets(int n, int r)
    {
        var set = Enumerable.Range(0, r).ToArray();
        while (true)
        {
            yield return (int[])set.Clone();
            var k = r - 1;
            while (k >= 0 && set[k] == n - r + k) k--;
            if (k < 0) yield break;
            set[k]++;
            for (var j = k + 1; j < r; j++) set[j] = set[j - 1] + 1;
        }
    }

    /// <summary>Newton's divided differences: stable for the few small points here.</summary>
    private static double[] Interpolate(double[] xs, double[] ys)
    {
        var c = (double[])ys.Clone();
        for (var level = 1; level < xs.Length; level++)
            for (var i = xs.Length - 1; i >= level; i--)
                c[i] = (c[i] - c[i - 1]) / (xs[i] - xs[i - level]);
        return c;
    }

    private static double Newton(double[] c, double[] xs, double x)
    {
        var v = c[^1];
        for (var i = c.Length - 2; i >= 0; i--) v = v * (x - xs[i]) + c[i];
        return v;
    }

    /// <summary>
    /// The Huber minimum by plain IRLS (weights min(1, δ/|r|), normal equations in x centred and scaled) run for many
    /// rounds: a different method from the solver's Newton steps, converging linearly to the same optimum. With point
    /// weights wᵢ it minimises Σwᵢh(rᵢ)/Σwᵢ, the IRLS weights then being wᵢ·min(1, δ/|r|).
    /// </summary>
    public static double HuberByIrls(double[] x, double[] y, int degree, double delta, int rounds = 300, double[]? pointWeights = null)
    {
        var p = pointWeights ?? Enumerable.Repeat(1.0, x.Length).ToArray();
        var total = p.Sum();
        var n = x.Length;
        var m = degree + 1;
        double lo = x.Min(), hi = x.Max();
        var c = (lo + hi) / 2;
        var s = Math.Max((hi - lo) / 2, 1e-300);
        var t = x.Select(v => (v - c) / s).ToArray();
        var u = new double[m];
        var weights = (double[])p.Clone();
        var best = double.PositiveInfinity;
        // IRLS for Huber is a majorize-minimize scheme: its loss never rises, but near points whose residual sits at
        // delta it converges only linearly, so it keeps going past `rounds` while it still improves (bounded work).
        var maxRounds = Math.Max(rounds, (int)Math.Min(200_000, 4e8 / ((double)n * m * m)));
        var previous = double.PositiveInfinity;
        for (var round = 0; round < maxRounds && (round < rounds || best < previous * (1 - 1e-15)); round++)
        {
            previous = best;
            var a = new double[m, m];
            var b = new double[m];
            for (var i = 0; i < n; i++)
            {
                var power = new double[m];
                power[0] = 1;
                for (var k = 1; k < m; k++) power[k] = power[k - 1] * t[i];
                for (var j = 0; j < m; j++)
                {
                    b[j] += weights[i] * power[j] * y[i];
                    for (var k = 0; k < m; k++) a[j, k] += weights[i] * power[j] * power[k];
                }
            }
            u = Solve(a, b);
            var loss = 0.0;
            for (var i = 0; i < n; i++)
            {
                var fitted = 0.0;
                for (var k = m - 1; k >= 0; k--) fitted = fitted * t[i] + u[k];
                var r = Math.Abs(y[i] - fitted);
                loss += p[i] * (r < delta ? 0.5 * r * r : delta * (r - 0.5 * delta));
                weights[i] = p[i] * (r <= delta ? 1 : delta / r);
            }
            best = Math.Min(best, loss / total);
        }
        return best;
    }

    private static double[] Solve(double[,] a, double[] b)
    {
        var m = b.Length;
        var lu = (double[,])a.Clone();
        var x = (double[])b.Clone();
        for (var k = 0; k < m; k++)
        {
            var pivot = k;
            for (var i = k + 1; i < m; i++) if (Math.Abs(lu[i, k]) > Math.Abs(lu[pivot, k])) pivot = i;
            for (var j = 0; j < m; j++) (lu[k, j], lu[pivot, j]) = (lu[pivot, j], lu[k, j]);
            (x[k], x[pivot]) = (x[pivot], x[k]);
            for (var i = k + 1; i < m; i++)
            {
                var f = lu[i, k] / lu[k, k];
                for (var j = k; j < m; j++) lu[i, j] -= f * lu[k, j];
                x[i] -= f * x[k];
            }
        }
        for (var i = m - 1; i >= 0; i--)
        {
            for (var j = i + 1; j < m; j++) x[i] -= lu[i, j] * x[j];
            x[i] /= lu[i, i];
        }
        return x;
    }
}
