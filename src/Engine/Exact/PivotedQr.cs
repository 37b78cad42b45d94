namespace FitService.Engine.Exact;

/// <summary>
/// Householder QR with column pivoting (LAPACK's xGEQP3 without blocking) of a small dense matrix A·P = Q·R, and the
/// minimum-norm least-squares solution through the complete orthogonal decomposition (xGELSY). The exact solvers run it
/// on the (d+1)×(d+1) triangle that the row-by-row QR of all points leaves, which has the same singular values and
/// least-squares solutions as the full N-row matrix, so rank is revealed without holding the N rows.
/// </summary>
internal sealed class PivotedQr
{
    /// <summary>Diagonal entries of R below this share of the largest count as zero (the columns are dependent).</summary>
    public const double RankTolerance = 1e-13;

    private readonly double[,] _qr;
    private readonly double[] _tau;
    private readonly int[] _permutation;
    private readonly int _rows;
    private readonly int _columns;

    public PivotedQr(double[,] a, bool pivot = true)
    {
        _rows = a.GetLength(0);
        _columns = a.GetLength(1);
        _qr = (double[,])a.Clone();
        _tau = new double[Math.Min(_rows, _columns)];
        _permutation = new int[_columns];
        for (var j = 0; j < _columns; j++) _permutation[j] = j;
        var norms = new double[_columns];
        for (var k = 0; k < _tau.Length; k++)
        {
            if (pivot)
            {
                // Recomputed rather than downdated: the matrix is tiny, and downdating loses accuracy on graded columns.
                for (var j = k; j < _columns; j++)
                {
                    var sum = 0.0;
                    for (var i = k; i < _rows; i++) sum += _qr[i, j] * _qr[i, j];
                    norms[j] = sum;
                }
                var best = k;
                for (var j = k + 1; j < _columns; j++) if (norms[j] > norms[best]) best = j;
                if (best != k)
                {
                    for (var i = 0; i < _rows; i++) (_qr[i, k], _qr[i, best]) = (_qr[i, best], _qr[i, k]);
                    (_permutation[k], _permutation[best]) = (_permutation[best], _permutation[k]);
                }
            }
            var norm = 0.0;
            for (var i = k; i < _rows; i++) norm = double.Hypot(norm, _qr[i, k]);
            if (norm == 0) { _tau[k] = 0; continue; }
            var alpha = _qr[k, k] > 0 ? -norm : norm;
            // v = x − α·e₁ scaled so v₀ = 1; H = I − τ·v·vᵀ.
            var v0 = _qr[k, k] - alpha;
            for (var i = k + 1; i < _rows; i++) _qr[i, k] /= v0;
            _tau[k] = -v0 / alpha;
            _qr[k, k] = alpha;
            for (var j = k + 1; j < _columns; j++)
            {
                var dot = _qr[k, j];
                for (var i = k + 1; i < _rows; i++) dot += _qr[i, k] * _qr[i, j];
                dot *= _tau[k];
                _qr[k, j] -= dot;
                for (var i = k + 1; i < _rows; i++) _qr[i, j] -= dot * _qr[i, k];
            }
        }
    }

    /// <summary>|R[k,k]|, in decreasing order when pivoted.</summary>
    public double Diagonal(int k) => Math.Abs(_qr[k, k]);

    /// <summary>The numerical rank: diagonal entries of R above <see cref="RankTolerance"/> of the first.</summary>
    public int Rank
    {
        get
        {
            var first = Diagonal(0);
            var rank = 0;
            while (rank < _tau.Length && Diagonal(rank) > RankTolerance * first) rank++;
            return rank;
        }
    }

    /// <summary>The column permutation: column k of A·P is column Permutation[k] of A.</summary>
    public IReadOnlyList<int> Permutation => _permutation;

    /// <summary>The upper triangle R (rank × columns), in pivoted column order.</summary>
    public double[,] UpperTriangle(int rank)
    {
        var r = new double[rank, _columns];
        for (var i = 0; i < rank; i++) for (var j = i; j < _columns; j++) r[i, j] = _qr[i, j];
        return r;
    }

    /// <summary>Qᵀ·b.</summary>
    public double[] ApplyQTransposed(ReadOnlySpan<double> b)
    {
        var c = b.ToArray();
        for (var k = 0; k < _tau.Length; k++) Reflect(k, c);
        return c;
    }

    /// <summary>Q·[z; 0].</summary>
    public double[] ApplyQ(ReadOnlySpan<double> z)
    {
        var c = new double[_rows];
        z.CopyTo(c);
        for (var k = _tau.Length - 1; k >= 0; k--) Reflect(k, c);
        return c;
    }

    private void Reflect(int k, double[] c)
    {
        if (_tau[k] == 0) return;
        var dot = c[k];
        for (var i = k + 1; i < _rows; i++) dot += _qr[i, k] * c[i];
        dot *= _tau[k];
        c[k] -= dot;
        for (var i = k + 1; i < _rows; i++) c[i] -= dot * _qr[i, k];
    }

    /// <summary>
    /// The minimum-norm u minimising ‖A·u − b‖ when A has numerical rank <paramref name="rank"/>: with A·P = Q·[R₁ R₂]
    /// (rank rows), [R₁ R₂]ᵀ = Z·[S; 0] by a second QR, so A·P = Q·[Sᵀ 0]·Zᵀ and u = P·Z·[S⁻ᵀ·(Qᵀb)₁..rank; 0].
    /// </summary>
    public double[] MinimumNormSolve(ReadOnlySpan<double> b, int rank)
    {
        var c = ApplyQTransposed(b);
        double[] solution;
        if (rank == _columns)
        {
            solution = new double[_columns];
            for (var i = _columns - 1; i >= 0; i--)
            {
                var sum = c[i];
                for (var j = i + 1; j < _columns; j++) sum -= _qr[i, j] * solution[j];
                solution[i] = sum / _qr[i, i];
            }
        }
        else
        {
            var transposed = new double[_columns, rank];
            for (var i = 0; i < rank; i++) for (var j = i; j < _columns; j++) transposed[j, i] = _qr[i, j];
            var z = new PivotedQr(transposed, pivot: false);
            // Sᵀ·w = c₁..rank by forward substitution (S is z's upper triangle).
            var w = new double[rank];
            for (var i = 0; i < rank; i++)
            {
                var sum = c[i];
                for (var j = 0; j < i; j++) sum -= z._qr[j, i] * w[j];
                w[i] = sum / z._qr[i, i];
            }
            solution = z.ApplyQ(w);
        }
        var u = new double[_columns];
        for (var k = 0; k < _columns; k++) u[_permutation[k]] = solution[k];
        return u;
    }
}
