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
        Span<double> row = stackalloc double[Size];
        foreach (var xi in x)
        {
            Powers(xi, row, unscaled: true);
            for (var k = 0; k < Size; k++) norms[k] += row[k] * row[k];
        }
        ColumnScale = [.. norms.Select(n => n > 0 ? 1 / Math.Sqrt(n) : 1.0)];
    }

    public double[] X { get; }
    /// <summary>Number of coefficients, degree + 1.</summary>
    public int Size { get; }
    public double Centre { get; }
    public double HalfWidth { get; }
    /// <summary>1 / norm of each column of powers of t (ascending).</summary>
    public double[] ColumnScale { get; }

    public static ScaledBasis For(double[] x, int degree)
    {
        var distinct = x.Distinct().Take(degree + 1).Count();
        if (distinct < degree + 1)
            throw new ExactSolverException($"degree {degree} needs at least {degree + 1} distinct x values; there are {distinct}");
        double lo = x.Min(), hi = x.Max();
        var halfWidth = (hi - lo) / 2;
        return new ScaledBasis(x, degree, lo + halfWidth, halfWidth > 0 ? halfWidth : 1.0);
    }

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
