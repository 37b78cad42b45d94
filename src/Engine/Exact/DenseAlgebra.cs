using System.Runtime.Intrinsics;

namespace FitService.Engine.Exact;

/// <summary>
/// Least squares by QR, streaming the rows: they are gathered in blocks of 128 and each block is folded into an
/// (m+1)×(m+1) triangle (the right-hand side as its last column) by Householder reflections of the stacked [R; block],
/// which use R's triangle (a reflection for column k touches row k of R and the block only). Memory O(m²) whatever the
/// number of points, the stability of Householder QR, never the normal equations, and about 2(m+1)² flops a point with
/// one square root per column and block rather than per point. Rows may carry a weight (weighted least squares).
/// The block is stored by columns, so each reflection is a few dot products and updates over contiguous memory; the
/// dot products add in four fixed lanes (as one 256-bit vector does, or the same order in scalar code where there is
/// none), so a result is the same on every run and every machine.
/// </summary>
/// <param name="size">The number of unknowns (columns).</param>
/// <param name="rows">How many rows are expected: a block smaller than 128 rows is held for fewer (a tiny problem's rows),
/// and grows to 128 should more arrive. Blocks are folded at the same rows whatever its size, so it never changes a result.</param>
internal sealed class RowQr(int size, int rows = 128)
{
    private const int Block = 128;
    private readonly double[,] _r = new double[size + 1, size + 1];
    /// <summary>Rows the block holds: column k of the pending rows at [k·capacity, k·capacity + pending).</summary>
    private int _capacity = Math.Clamp(rows, 1, Block);
    private double[] _block = new double[Math.Clamp(rows, 1, Block) * (size + 1)];
    private int _pending;

    public int Size => size;

    /// <summary>The triangle: R in the first m columns, Qᵀb in the last.</summary>
    public double[,] R
    {
        get
        {
            Flush();
            return _r;
        }
    }

    /// <summary>Adds the equation row·u ≈ rhs with weight w (the row and rhs are multiplied by √w).</summary>
    public void Add(ReadOnlySpan<double> row, double rhs, double weight = 1.0)
    {
        var scale = weight == 1.0 ? 1.0 : Math.Sqrt(weight);
        if (_pending == _capacity) Grow();
        for (var k = 0; k < size; k++) _block[k * _capacity + _pending] = row[k] * scale;
        _block[size * _capacity + _pending] = rhs * scale;
        if (++_pending == Block) Flush();
    }

    /// <summary>The block at its full 128 rows, the pending rows kept.</summary>
    private void Grow()
    {
        var block = new double[Block * (size + 1)];
        for (var k = 0; k <= size; k++) _block.AsSpan(k * _capacity, _pending).CopyTo(block.AsSpan(k * Block));
        (_block, _capacity) = (block, Block);
    }

    /// <summary>
    /// Adds every point's row of <paramref name="basis"/> with y as the right-hand side (times √w when weighted): the
    /// rows are formed straight into the block, one pass over the points.
    /// </summary>
    public void AddAll(ScaledBasis basis, double[] y, double[]? weights)
    {
        var columnScale = basis.ColumnScale;
        var rowScale = basis.RowScale;
        Flush();
        for (var start = 0; start < y.Length; start += Block)
        {
            var rows = Math.Min(Block, y.Length - start);
            if (rows > _capacity) Grow();
            for (var p = 0; p < rows; p++)
            {
                var i = start + p;
                var scale = weights is null ? 1.0 : Math.Sqrt(weights[i]);
                if (rowScale is not null) scale *= rowScale[i];
                var power = scale;
                var t = basis.TAt(i);
                for (var k = 0; k < size; k++)
                {
                    _block[k * _capacity + p] = power * columnScale[k];
                    power *= t;
                }
                _block[size * _capacity + p] = y[i] * scale;
            }
            _pending = rows;
            Flush();
        }
    }

    private void Flush()
    {
        var rows = _pending;
        if (rows == 0) return;
        _pending = 0;
        for (var k = 0; k <= size; k++)
        {
            // x = [R[k,k]; block[·,k]], α = −sign(x₀)·‖x‖; v = (x − α·e₁)/v₀ with v₀ = x₀ − α, H = I − τ·v·vᵀ, τ = −v₀/α.
            var column = _block.AsSpan(k * _capacity, rows);
            var sum = Dot(column, column);
            if (sum == 0) continue;
            var x0 = _r[k, k];
            var norm = Math.Sqrt(x0 * x0 + sum);
            if (!double.IsFinite(norm) || norm == 0)
            {
                norm = Math.Abs(x0);
                foreach (var v in column) norm = double.Hypot(norm, v);
            }
            var alpha = x0 > 0 ? -norm : norm;
            var v0 = x0 - alpha;
            var tau = -v0 / alpha;
            Divide(column, v0);
            _r[k, k] = alpha;
            for (var j = k + 1; j <= size; j++)
            {
                var other = _block.AsSpan(j * _capacity, rows);
                var dot = (_r[k, j] + Dot(column, other)) * tau;
                _r[k, j] -= dot;
                SubtractScaled(other, dot, column);
            }
        }
    }

    private static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b) => Dot(a, b, Vector256.IsHardwareAccelerated);

    /// <summary>
    /// Σ a_i·b_i in four lanes (i mod 4), the lanes added as (0 + 1) + (2 + 3), then the tail in order: with 256-bit
    /// vectors when <paramref name="vectors"/>, else in scalar code, bit for bit the same.
    /// </summary>
    internal static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b, bool vectors)
    {
        var i = 0;
        double sum;
        if (vectors && a.Length >= 4)
        {
            var lanes = Vector256<double>.Zero;
            for (; i <= a.Length - 4; i += 4)
                lanes += Vector256.Create(a.Slice(i, 4)) * Vector256.Create(b.Slice(i, 4));
            sum = (lanes.GetElement(0) + lanes.GetElement(1)) + (lanes.GetElement(2) + lanes.GetElement(3));
        }
        else
        {
            double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            for (; i <= a.Length - 4; i += 4)
            {
                s0 += a[i] * b[i];
                s1 += a[i + 1] * b[i + 1];
                s2 += a[i + 2] * b[i + 2];
                s3 += a[i + 3] * b[i + 3];
            }
            sum = (s0 + s1) + (s2 + s3);
        }
        for (; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }

    /// <summary>a_i /= d (element by element: the same with or without vectors).</summary>
    private static void Divide(Span<double> a, double d)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var divisor = Vector256.Create(d);
            for (; i <= a.Length - 4; i += 4) (Vector256.Create((ReadOnlySpan<double>)a.Slice(i, 4)) / divisor).CopyTo(a.Slice(i, 4));
        }
        for (; i < a.Length; i++) a[i] /= d;
    }

    /// <summary>a_i −= s·b_i (element by element: the same with or without vectors).</summary>
    private static void SubtractScaled(Span<double> a, double s, ReadOnlySpan<double> b)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var scale = Vector256.Create(s);
            for (; i <= a.Length - 4; i += 4)
                (Vector256.Create((ReadOnlySpan<double>)a.Slice(i, 4)) - scale * Vector256.Create(b.Slice(i, 4))).CopyTo(a.Slice(i, 4));
        }
        for (; i < a.Length; i++) a[i] -= s * b[i];
    }

    /// <summary>True when R has no diagonal element below 1e-13 of the largest (the rows span every direction).</summary>
    public bool FullRank
    {
        get
        {
            Flush();
            var max = 0.0;
            for (var k = 0; k < size; k++) max = Math.Max(max, Math.Abs(_r[k, k]));
            for (var k = 0; k < size; k++) if (!(Math.Abs(_r[k, k]) > 1e-13 * max)) return false;
            return max > 0;
        }
    }

    /// <summary>The least-squares solution: R·u = Qᵀb, plus <paramref name="extra"/> (added to Qᵀb) when given.</summary>
    public double[] Solve(ReadOnlySpan<double> extra = default)
    {
        Flush();
        var u = new double[size];
        for (var i = size - 1; i >= 0; i--)
        {
            var sum = _r[i, size] + (extra.IsEmpty ? 0 : extra[i]);
            for (var j = i + 1; j < size; j++) sum -= _r[i, j] * u[j];
            u[i] = sum / _r[i, i];
        }
        return u;
    }

    /// <summary>R⁻ᵀ·g (forward substitution with Rᵀ).</summary>
    public double[] SolveTransposed(ReadOnlySpan<double> g)
    {
        Flush();
        var v = new double[size];
        for (var i = 0; i < size; i++)
        {
            var sum = g[i];
            for (var j = 0; j < i; j++) sum -= _r[j, i] * v[j];
            v[i] = sum / _r[i, i];
        }
        return v;
    }
}

internal static class DenseAlgebra
{
    /// <summary>Solves A·u = b (or Aᵀ·u = b) by LU with partial pivoting; A is m×m and left unchanged.</summary>
    public static double[] Solve(double[,] a, ReadOnlySpan<double> b, bool transpose = false)
    {
        var m = b.Length;
        Span<double> flat = m <= 16 ? stackalloc double[m * m] : new double[m * m];
        for (var i = 0; i < m; i++) for (var j = 0; j < m; j++) flat[i * m + j] = a[i, j];
        var x = new double[m];
        Solve(flat, b, x, transpose);
        return x;
    }

    /// <summary>
    /// As <see cref="Solve(double[,], ReadOnlySpan{double}, bool)"/> with A row by row in <paramref name="a"/> (m² values) and
    /// the solution written to <paramref name="x"/>, allocating nothing for m ≤ 16: the small systems of the simplex walk and
    /// IRLS, solved many times a fit.
    /// </summary>
    public static void Solve(ReadOnlySpan<double> a, ReadOnlySpan<double> b, Span<double> x, bool transpose = false)
    {
        var m = b.Length;
        Span<double> lu = m <= 16 ? stackalloc double[m * m] : new double[m * m];
        if (transpose)
            for (var i = 0; i < m; i++) for (var j = 0; j < m; j++) lu[i * m + j] = a[j * m + i];
        else
            a[..(m * m)].CopyTo(lu);
        b.CopyTo(x);
        for (var k = 0; k < m; k++)
        {
            var pivot = k;
            for (var i = k + 1; i < m; i++) if (Math.Abs(lu[i * m + k]) > Math.Abs(lu[pivot * m + k])) pivot = i;
            if (lu[pivot * m + k] == 0) throw new ExactSolverException("singular system: the chosen points do not determine the params");
            if (pivot != k)
            {
                for (var j = 0; j < m; j++) (lu[k * m + j], lu[pivot * m + j]) = (lu[pivot * m + j], lu[k * m + j]);
                (x[k], x[pivot]) = (x[pivot], x[k]);
            }
            for (var i = k + 1; i < m; i++)
            {
                var f = lu[i * m + k] / lu[k * m + k];
                if (f == 0) continue;
                for (var j = k; j < m; j++) lu[i * m + j] -= f * lu[k * m + j];
                x[i] -= f * x[k];
            }
        }
        for (var i = m - 1; i >= 0; i--)
        {
            var sum = x[i];
            for (var j = i + 1; j < m; j++) sum -= lu[i * m + j] * x[j];
            x[i] = sum / lu[i * m + i];
        }
    }

    /// <summary>σmax/σmin of a square matrix, by one-sided Jacobi (accurate singular values for column-graded matrices).</summary>
    public static double ConditionNumber(double[,] matrix)
    {
        var m = matrix.GetLength(0);
        // Powers of a huge x can overflow the matrix (or its column norms): its condition is beyond the doubles, and
        // the rotations below would meet ∞ − ∞.
        foreach (var entry in matrix) if (!double.IsFinite(entry)) return double.PositiveInfinity;
        var a = (double[,])matrix.Clone();
        for (var sweep = 0; sweep < 60; sweep++)
        {
            var rotated = false;
            for (var p = 0; p < m - 1; p++)
                for (var q = p + 1; q < m; q++)
                {
                    double alpha = 0, beta = 0, gamma = 0;
                    for (var i = 0; i < m; i++) { alpha += a[i, p] * a[i, p]; beta += a[i, q] * a[i, q]; gamma += a[i, p] * a[i, q]; }
                    if (gamma == 0 || Math.Abs(gamma) <= 1e-15 * Math.Sqrt(alpha * beta)) continue;
                    rotated = true;
                    var zeta = (beta - alpha) / (2 * gamma);
                    if (double.IsNaN(zeta)) return double.PositiveInfinity;
                    var t = Math.Sign(zeta) / (Math.Abs(zeta) + Math.Sqrt(1 + zeta * zeta));
                    if (zeta == 0) t = 1;
                    var c = 1 / Math.Sqrt(1 + t * t);
                    var s = c * t;
                    for (var i = 0; i < m; i++)
                    {
                        var (ap, aq) = (a[i, p], a[i, q]);
                        a[i, p] = c * ap - s * aq;
                        a[i, q] = s * ap + c * aq;
                    }
                }
            if (!rotated) break;
        }
        double max = 0, min = double.PositiveInfinity;
        for (var j = 0; j < m; j++)
        {
            var norm = 0.0;
            for (var i = 0; i < m; i++) norm += a[i, j] * a[i, j];
            norm = Math.Sqrt(norm);
            max = Math.Max(max, norm);
            min = Math.Min(min, norm);
        }
        return min > 0 ? max / min : double.PositiveInfinity;
    }
}
