namespace FitService.Engine.Exact;

/// <summary>
/// The polynomial basis the exact solvers work in: powers of t = (x − c)/s, which maps the x range onto [−1, 1],
/// each column scaled to unit norm. Far better conditioned than powers of x itself (degree 10 on [0, 1000]: ~1e4
/// instead of ~1e13 even with unit columns); coefficients are mapped back to powers of x at the end.
/// </summary>
internal sealed class ScaledBasis
{
    private ScaledBasis(double[] x, int degree, double centre, double halfWidth)
    {
        X = x;
        Size = degree + 1;
        Centre = centre;
        HalfWidth = halfWidth;
        var norms = new double[Size];
        for (var i = 0; i < x.Length; i++)
        {
            var t = TAt(i);
            var power = 1.0;
            for (var k = 0; k < Size; k++) { norms[k] += power * power; power *= t; }
        }
        for (var k = 0; k < Size; k++) norms[k] = norms[k] > 0 ? 1 / Math.Sqrt(norms[k]) : 1.0;
        ColumnScale = norms;
    }

    private ScaledBasis(ScaledBasis basis, double[] rowScale)
    {
        (X, Size, Centre, HalfWidth, _t, ColumnScale) = (basis.X, basis.Size, basis.Centre, basis.HalfWidth, basis._t, basis.ColumnScale);
        RowScale = rowScale;
    }

    /// <summary>
    /// A factor each row is multiplied by (null: 1): the rows of a weighted problem. The columns and their scale are those of
    /// the unweighted basis, so coefficients mean the same in both and map back to powers of x alike.
    /// </summary>
    public double[]? RowScale { get; }

    /// <summary>The same basis with row i multiplied by <paramref name="rowScale"/>[i] (in <see cref="Row"/> and <see cref="ValueAt"/>).</summary>
    public ScaledBasis WithRowScale(double[] rowScale) => new(this, rowScale);

    /// <summary>Every <paramref name="stride"/>-th point, in a basis of its own range, with its row scale.</summary>
    public ScaledBasis Every(int stride)
    {
        var count = (X.Length + stride - 1) / stride;
        var x = new double[count];
        for (var k = 0; k < count; k++) x[k] = X[k * stride];
        var sub = For(x, Size - 1);
        if (RowScale is null) return sub;
        var scale = new double[count];
        for (var k = 0; k < count; k++) scale[k] = RowScale[k * stride];
        return sub.WithRowScale(scale);
    }

    private double[]? _t;

    /// <summary>
    /// t_i = (x_i − c)/s of every point, computed on first use and kept (the iterative solvers pass over it many times;
    /// least squares, two passes, computes <see cref="TAt"/> as it goes and never holds the array).
    /// </summary>
    public double[] T
    {
        get
        {
            if (_t is null)
            {
                var t = new double[X.Length];
                for (var i = 0; i < t.Length; i++) t[i] = TAt(i);
                _t = t;
            }
            return _t;
        }
    }

    /// <summary>t_i of point i, the same bits as <see cref="T"/>[i].</summary>
    public double TAt(int i) => (X[i] - Centre) / HalfWidth;

    public double[] X { get; }
    /// <summary>Number of coefficients, degree + 1.</summary>
    public int Size { get; }
    public double Centre { get; }
    public double HalfWidth { get; }
    /// <summary>1 / norm of each column of powers of t (ascending).</summary>
    public double[] ColumnScale { get; }

    /// <summary>The basis for <paramref name="degree"/> on the points: centre and half-width of the x range (1 when all x are equal).</summary>
    public static ScaledBasis For(double[] x, int degree)
    {
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        foreach (var v in x) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
        // Halved first so that x near ±1.8e308 cannot overflow the width.
        var halfWidth = hi / 2 - lo / 2;
        var centre = lo + halfWidth;
        return new ScaledBasis(x, degree, centre, halfWidth > 0 ? halfWidth : 1.0);
    }

    /// <summary>How many distinct x values there are, counting no further than <paramref name="enough"/>.</summary>
    public int DistinctX(int enough) => X.Distinct().Take(enough).Count();

    /// <summary>The row of point <paramref name="x"/>: column-scaled powers t^0 … t^d.</summary>
    public void Powers(double x, Span<double> row, bool unscaled = false)
    {
        var t = (x - Centre) / HalfWidth;
        var power = 1.0;
        for (var k = 0; k < Size; k++)
        {
            row[k] = unscaled ? power : power * ColumnScale[k];
            power *= t;
        }
    }

    /// <summary>The row of point i: column-scaled powers of t_i (times its row scale).</summary>
    public void Row(int i, Span<double> row)
    {
        var t = T[i];
        var power = RowScale?[i] ?? 1.0;
        for (var k = 0; k < Size; k++) { row[k] = power * ColumnScale[k]; power *= t; }
    }

    /// <summary>Coefficients of plain powers of t (ascending) from coefficients u of the unit-norm columns.</summary>
    public double[] PowerCoefficients(ReadOnlySpan<double> u)
    {
        var c = new double[Size];
        for (var k = 0; k < Size; k++) c[k] = u[k] * ColumnScale[k];
        return c;
    }

    /// <summary>Σ c_k·t^k at point i by Horner's rule (times its row scale), with <paramref name="c"/> from <see cref="PowerCoefficients"/>.</summary>
    public double ValueAt(ReadOnlySpan<double> c, int i)
    {
        var t = T[i];
        var v = c[^1];
        for (var k = c.Length - 2; k >= 0; k--) v = v * t + c[k];
        return RowScale is null ? v : v * RowScale[i];
    }

    /// <summary>Σ u_k·row_k at <paramref name="x"/>.</summary>
    public double Value(ReadOnlySpan<double> u, double x)
    {
        Span<double> row = stackalloc double[Size];
        Powers(x, row);
        var sum = 0.0;
        for (var k = 0; k < Size; k++) sum += u[k] * row[k];
        return sum;
    }

    /// <summary>Coefficients u of the scaled basis as coefficients of powers of x, highest power first (the engine's order).</summary>
    public double[] ToPolynomial(ReadOnlySpan<double> u)
    {
        // q_k t^k with t = (x − c)/s: the coefficient of x^j is Σ_{k≥j} q_k·C(k, j)·(−c)^(k−j) / s^k.
        var ascending = new double[Size];
        for (var k = 0; k < Size; k++)
        {
            var q = u[k] * ColumnScale[k] / Math.Pow(HalfWidth, k);
            var binomial = 1.0;
            for (var j = k; j >= 0; j--)
            {
                ascending[j] += q * binomial * Math.Pow(-Centre, k - j);
                binomial = binomial * j / (k - j + 1);
            }
        }
        Array.Reverse(ascending);
        return ascending;
    }

    /// <summary>
    /// The same coefficients as <see cref="ToPolynomial"/>, each term formed as u_k·(column scale)·C(k, j)·(−c/s)^(k−j), divided by s
    /// one power at a time: for a centre and half-width near 1e90, c^k and s^k overflow where the params do not.
    /// </summary>
    public double[] ToPolynomialStepwise(ReadOnlySpan<double> u)
    {
        var ascending = new double[Size];
        var ratio = -Centre / HalfWidth;
        for (var k = 0; k < Size; k++)
        {
            var binomial = 1.0;
            for (var j = k; j >= 0; j--)
            {
                var term = u[k] * ColumnScale[k] * binomial * Math.Pow(ratio, k - j);
                for (var power = 0; power < j; power++) term /= HalfWidth;
                ascending[j] += term;
                binomial = binomial * j / (k - j + 1);
            }
        }
        Array.Reverse(ascending);
        return ascending;
    }

    /// <summary>
    /// The condition number of the Vandermonde matrix of x itself (the matrix gradient descent on the params faces: the
    /// MSE Hessian is (2/N)·VᵀV), from the R of the scaled basis: V_x = Q·R·S⁻¹·M with S the column scaling and M the
    /// change of basis from powers of x to powers of t. Its columns differ in scale by up to max|x|^d, which one-sided
    /// Jacobi resolves (numpy's SVD of V_x itself cannot beyond ~1e16).
    /// </summary>
    public double RawConditionNumber(double[,] r)
    {
        // M[k, j] = C(j, k)·c^(j−k)·s^k for j ≥ k: x^j = (c + s·t)^j.
        var a = new double[Size, Size];
        for (var j = 0; j < Size; j++)
        {
            var binomial = 1.0;
            for (var k = 0; k <= j; k++)
            {
                var m = binomial * Math.Pow(Centre, j - k) * Math.Pow(HalfWidth, k);
                for (var i = 0; i <= k; i++) a[i, j] += r[i, k] / ColumnScale[k] * m;
                binomial = binomial * (j - k) / (k + 1);
            }
        }
        return DenseAlgebra.ConditionNumber(a);
    }
}
