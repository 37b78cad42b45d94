using FitService.Engine.Exact;
namespace FitService.Engine.Tests.Oracle;

/// <summary>
/// The least-absolute-deviations (MAE) optimum, as the linear program min Σ|r_i| it is. An optimum always lies at a
/// vertex: m = d+1 points interpolated exactly (the basis). IRLS brings the params near it; from the m points closest
/// to the IRLS curve, simplex steps in the manner of Barrodale and Roberts move from vertex to vertex: release the basis
/// point whose multiplier is out of [−1, 1], slide along that edge past every residual that changes sign while the
/// slope stays negative (a weighted median), and take in the point where it turns. Residuals that are zero outside the
/// basis (ties, degenerate vertices) carry a sign of their own, as the simplex's degenerate basic variables do, so a
/// zero-length step is an ordinary pivot; after one, Bland's rule (lowest point index) chooses until the loss drops
/// again, which rules out cycling. Before returning, a certificate is checked over all points: the multipliers λ
/// (λ_i = sign r_i off the basis, λ_B from V_Bᵀλ_B = −Σ λ_i v_i) lie in [−1, 1], satisfy Σ λ_i v_i = 0, and the dual
/// value Σ λ_i·y_i equals the loss: dual feasibility and a zero duality gap, which prove the vertex optimal.
/// </summary>
internal static class LeastAbsoluteDeviations
{
    /// <summary>How far a multiplier may exceed 1 (rounding) and the certificate still hold.</summary>
    public const double MultiplierTolerance = 1e-9;

    /// <summary>Residuals within this share of the largest |y| count as zero (rounding, not misfit).</summary>
    public const double ZeroTolerance = 1e-12;

    private const int IrlsRounds = 8;

    public static (double[] U, int Steps) Solve(ScaledBasis basis, double[] y, double[] start, CancellationToken ct)
    {
        var (u, steps, _) = SolveWithVertex(basis, y, start, ct);
        return (u, steps);
    }

    /// <summary>Above this many points the walk starts from the optimum of an evenly spread subsample.</summary>
    private const int DirectLimit = 60_000;

    private static (double[] U, int Steps, int[] Vertex) SolveWithVertex(ScaledBasis basis, double[] y, double[] start, CancellationToken ct)
    {
        var n = y.Length;
        var m = basis.Size;
        var scale = 0.0;
        foreach (var v in y) scale = Math.Max(scale, Math.Abs(v));
        if (scale == 0) return (new double[m], 0, []);
        var state = new State(basis, y, ZeroTolerance * scale);

        var steps = 0;
        var vertex = n > DirectLimit ? FromSubsample(basis, y, ct, ref steps) : null;
        if (vertex is not null) state.Interpolate(vertex);
        else Irls(basis, y, start, state.Residual, ct);
        // Only points near the starting curve can change sign on the way to the optimum: the others are held on their
        // side (a constant term of the slope, as Koenker and Portnoy's globs), which makes each simplex step cheap. The
        // solution is then checked against every point; any on the wrong side joins the band and the walk goes on.
        var band = Band(state.Residual, Math.Min(n, Math.Max(2000, (int)(2 * m * Math.Sqrt(n)))));
        state.Band.AddRange(band);
        foreach (var i in band) state.Fixed[i] = 0;
        foreach (var i in vertex ?? [])
        {
            if (state.Fixed[i] == 0) continue;
            state.Fixed[i] = 0;
            state.Band.Add(i);
        }
        for (var i = 0; i < n; i++)
        {
            if (state.Fixed[i] == 0) continue;
            state.Fixed[i] = (sbyte)(state.Residual[i] >= 0 ? 1 : -1);
            state.AddFixed(i, state.Fixed[i]);
        }
        if (vertex is null)
        {
            vertex = StartingVertex(basis, [.. state.Band], state.Residual);
            // The engine's fix of 2026-12-01 (a band of too few distinct x: the start drawn from all points), kept here so
            // the oracle differs from the engine only in speed.
            foreach (var i in vertex) if (state.Fixed[i] != 0) state.Release(i);
        }
        while (true)
        {
            (var u, var w, var taken) = Walk(state, vertex, ct);
            steps += taken;
            var violators = state.WrongSide(u);
            if (violators.Count == 0)
            {
                Certify(state, u, vertex, w);
                return (u, steps, vertex);
            }
            foreach (var i in violators) state.Release(i);
        }
    }

    /// <summary>
    /// The optimal vertex of every k-th point (k so that about <see cref="DirectLimit"/>/2 remain), as point indices of the
    /// whole set: a start far closer to the optimum than IRLS, for a fraction of the passes. Null when the subsample does
    /// not determine the params.
    /// </summary>
    private static int[]? FromSubsample(ScaledBasis basis, double[] y, CancellationToken ct, ref int steps)
    {
        var stride = (int)Math.Ceiling(y.Length / (DirectLimit / 2.0));
        var sub = basis.Every(stride);
        var ys = new double[sub.X.Length];
        for (var k = 0; k < ys.Length; k++) ys[k] = y[k * stride];
        try
        {
            var (_, subSteps, vertex) = SolveWithVertex(sub, ys, ExactSolver.LeastSquaresIn(sub, ys), ct);
            steps += subSteps;
            return vertex.Length == basis.Size ? [.. vertex.Select(k => k * stride)] : null;
        }
        catch (ExactSolverException)
        {
            return null;
        }
    }

    /// <summary>What the walk shares across rounds: residuals, the signs of ties and of the fixed points, and their constant slope.</summary>
    private sealed class State(ScaledBasis basis, double[] y, double zero)
    {
        public ScaledBasis Basis => basis;
        public double[] Y => y;
        public double Zero => zero;
        public double[] Residual { get; } = new double[y.Length];
        /// <summary>The sign a zero residual counts with (its degenerate basic variable's side), set when the point crosses zero.</summary>
        public sbyte[] TieSign { get; } = Filled(y.Length, 1);
        /// <summary>±1 for a point held on that side, 0 for a point in the band.</summary>
        public sbyte[] Fixed { get; } = Filled(y.Length, 1);
        public bool[] InVertex { get; } = new bool[y.Length];
        /// <summary>Σ sign_i·v_i over the fixed points.</summary>
        public double[] FixedSlope { get; } = new double[basis.Size];

        /// <summary>The points the walk looks at; the others are held on their side.</summary>
        public List<int> Band { get; } = [];

        /// <summary>Point i is no longer held on its side: it joins the band.</summary>
        public void Release(int i)
        {
            AddFixed(i, -Fixed[i]);
            Fixed[i] = 0;
            Band.Add(i);
        }

        public void AddFixed(int i, int sign)
        {
            Span<double> row = stackalloc double[basis.Size];
            basis.Row(i, row);
            for (var k = 0; k < row.Length; k++) FixedSlope[k] += sign * row[k];
        }

        /// <summary>The residuals of the curve through the vertex points.</summary>
        public void Interpolate(int[] vertex)
        {
            var m = basis.Size;
            var vb = new double[m, m];
            var yb = new double[m];
            Span<double> row = stackalloc double[m];
            for (var a = 0; a < m; a++)
            {
                basis.Row(vertex[a], row);
                for (var k = 0; k < m; k++) vb[a, k] = row[k];
                yb[a] = y[vertex[a]];
            }
            var c = basis.PowerCoefficients(DenseAlgebra.Solve(vb, yb));
            for (var i = 0; i < y.Length; i++) Residual[i] = y[i] - basis.ValueAt(c, i);
            foreach (var i in vertex) Residual[i] = 0;
        }

        /// <summary>Fixed points whose residual at <paramref name="u"/> is on the other side (beyond rounding); every residual is refreshed.</summary>
        public List<int> WrongSide(double[] u)
        {
            var c = basis.PowerCoefficients(u);
            var wrong = new List<int>();
            for (var i = 0; i < y.Length; i++)
            {
                var r = InVertex[i] ? 0 : y[i] - basis.ValueAt(c, i);
                Residual[i] = r;
                if (Fixed[i] != 0 && Math.Abs(r) > zero && Math.Sign(r) != Fixed[i]) wrong.Add(i);
            }
            return wrong;
        }

        /// <summary>The sign residual i counts with: its own, or for a zero residual its tie sign (a fixed point's side).</summary>
        public int Sign(int i)
        {
            var r = Residual[i];
            if (Math.Abs(r) > zero) return Math.Sign(r);
            return Fixed[i] != 0 ? Fixed[i] : TieSign[i];
        }

        private static sbyte[] Filled(int n, sbyte value)
        {
            var a = new sbyte[n];
            Array.Fill(a, value);
            return a;
        }
    }

    /// <summary>
    /// The band points' data side by side (y, row, residual, tie sign, in-vertex), so that a step reads a few contiguous
    /// arrays rather than scattered entries of arrays over all points.
    /// </summary>
    private sealed class Compact
    {
        private readonly State _state;
        private readonly int _m;

        public Compact(State state)
        {
            _state = state;
            _m = state.Basis.Size;
            var capacity = Math.Max(16, state.Band.Count * 2);
            Index = new int[capacity];
            Y = new double[capacity];
            Rows = new double[capacity * _m];
            Residual = new double[capacity];
            Tie = new sbyte[capacity];
            InVertex = new bool[capacity];
            foreach (var i in state.Band) Add(i);
        }

        public int Count { get; private set; }
        public int[] Index;
        public double[] Y;
        public double[] Rows;
        public double[] Residual;
        public sbyte[] Tie;
        public bool[] InVertex;

        public void Add(int i)
        {
            if (Count == Index.Length)
            {
                var capacity = Count * 2;
                Array.Resize(ref Index, capacity);
                Array.Resize(ref Y, capacity);
                Array.Resize(ref Rows, capacity * _m);
                Array.Resize(ref Residual, capacity);
                Array.Resize(ref Tie, capacity);
                Array.Resize(ref InVertex, capacity);
            }
            var p = Count++;
            Index[p] = i;
            Y[p] = _state.Y[i];
            _state.Basis.Row(i, Rows.AsSpan(p * _m, _m));
            Residual[p] = _state.Residual[i];
            Tie[p] = _state.TieSign[i];
            InVertex[p] = _state.InVertex[i];
        }

        public int Sign(int p)
        {
            var r = Residual[p];
            return Math.Abs(r) > _state.Zero ? Math.Sign(r) : Tie[p];
        }

        /// <summary>Hands the walk's residuals, tie signs and vertex back to the whole set.</summary>
        public void WriteBack()
        {
            for (var p = 0; p < Count; p++)
            {
                var i = Index[p];
                _state.Residual[i] = Residual[p];
                _state.TieSign[i] = Tie[p];
                _state.InVertex[i] = InVertex[p];
            }
        }
    }

    /// <summary>Simplex steps over the band points (the fixed ones contribute their constant slope) to a vertex with multipliers in [−1, 1].</summary>
    private static (double[] U, double[] W, int Steps) Walk(State state, int[] vertex, CancellationToken ct)
    {
        var basis = state.Basis;
        var y = state.Y;
        var m = basis.Size;
        foreach (var i in vertex) state.InVertex[i] = true;
        var band = new Compact(state);
        var position = new int[m];
        for (var a = 0; a < m; a++) position[a] = Array.IndexOf(band.Index, vertex[a], 0, band.Count);
        var breakT = new double[band.Count];
        var breakJump = new double[band.Count];
        var breakSlot = new int[band.Count];
        var vb = new double[m, m];
        var yb = new double[m];
        var bland = false;
        var signs = new sbyte[band.Count];
        var maxSteps = 1000 + 50L * y.Length;
        for (var step = 0; step < maxSteps; step++)
        {
            ct.ThrowIfCancellationRequested();
            for (var a = 0; a < m; a++)
            {
                for (var k = 0; k < m; k++) vb[a, k] = band.Rows[position[a] * m + k];
                yb[a] = band.Y[position[a]];
            }
            var u = DenseAlgebra.Solve(vb, yb);
            var g = (double[])state.FixedSlope.Clone();
            // The two passes below are the whole cost of a step: locals, so the arrays are not reloaded through the object.
            var (rows, ys, residuals, ties, inV, count0, zero) = (band.Rows, band.Y, band.Residual, band.Tie, band.InVertex, band.Count, state.Zero);
            if (signs.Length < count0) signs = new sbyte[band.Rows.Length / m];
            for (var p = 0; p < count0; p++)
            {
                if (inV[p]) { residuals[p] = 0; continue; }
                var offset = p * m;
                var fitted = 0.0;
                for (var k = 0; k < m; k++) fitted += u[k] * rows[offset + k];
                var r = ys[p] - fitted;
                residuals[p] = r;
                var s = Math.Abs(r) > zero ? (r > 0 ? 1 : -1) : ties[p];
                signs[p] = (sbyte)s;
                for (var k = 0; k < m; k++) g[k] += s * rows[offset + k];
            }
            var w = DenseAlgebra.Solve(vb, g, transpose: true);

            // The leaving point: its multiplier −w_j is outside [−1, 1]. Largest first, or the lowest point index under Bland.
            var j = -1;
            for (var a = 0; a < m; a++)
            {
                if (Math.Abs(w[a]) <= 1 + MultiplierTolerance) continue;
                if (j < 0 || (bland ? band.Index[position[a]] < band.Index[position[j]] : Math.Abs(w[a]) > Math.Abs(w[j]))) j = a;
            }
            if (j < 0)
            {
                band.WriteBack();
                for (var a = 0; a < m; a++) vertex[a] = band.Index[position[a]];
                return (u, w, step);
            }

            // Along the edge u + t·d (V_B·d = sign(w_j)·e_j) point j's residual grows as t; the slope 1 − |w_j| < 0 rises
            // by 2|a_i| where residual i (sign s_i, a_i = v_i·d) reaches zero. The entering point is where it turns ≥ 0.
            var e = new double[m];
            e[j] = Math.Sign(w[j]);
            var d = DenseAlgebra.Solve(vb, e);
            var count = 0;
            for (var p = 0; p < count0; p++)
            {
                if (inV[p]) continue;
                var offset = p * m;
                var ai = 0.0;
                var size = 0.0;
                for (var k = 0; k < m; k++)
                {
                    ai += d[k] * rows[offset + k];
                    size += Math.Abs(d[k] * rows[offset + k]);
                }
                if (signs[p] * ai <= 0) continue;
                // The engine's fix of 2026-12-01 (a repeated point entering a vertex beside its twin), kept here so the
                // oracle differs from the engine only in speed.
                if (Math.Abs(ai) <= 1e-12 * size) continue;
                var r = residuals[p];
                breakT[count] = Math.Abs(r) <= zero ? 0 : r / ai;
                breakJump[count] = 2 * Math.Abs(ai);
                breakSlot[count] = p;
                count++;
            }
            var need = Math.Abs(w[j]) - 1;
            var entering = WeightedSelect(breakT, breakJump, breakSlot, band.Index, count, need);
            if (entering < 0)
            {
                // The band alone cannot stop this edge; the held points can. Any already on the wrong side join the band
                // and the step starts again; else the edge is searched over the held points too, and those passed or
                // entering join the band.
                band.WriteBack();
                var wrong = state.WrongSide(u);
                foreach (var i in wrong) { state.Release(i); band.Add(i); }
                if (wrong.Count == 0)
                {
                    var dc = basis.PowerCoefficients(d);
                    var heldT = new List<double>();
                    var heldJump = new List<double>();
                    var heldIndex = new List<int>();
                    for (var i = 0; i < y.Length; i++)
                    {
                        if (state.Fixed[i] == 0) continue;
                        var ai = basis.ValueAt(dc, i);
                        if (state.Fixed[i] * ai <= 0) continue;
                        heldT.Add(Math.Max(0, state.Residual[i] / ai));
                        heldJump.Add(2 * Math.Abs(ai));
                        heldIndex.Add(i);
                    }
                    // The band's breakpoints all pass; of the held ones, those up to where the slope turns join the band.
                    var slope = 1 - Math.Abs(w[j]);
                    for (var b = 0; b < count; b++) slope += breakJump[b];
                    var (ts, jumps, indices) = (heldT.ToArray(), heldJump.ToArray(), heldIndex.ToArray());
                    var slots = Enumerable.Range(0, ts.Length).ToArray();
                    var stop = WeightedSelect(ts, jumps, slots, indices, ts.Length, -slope);
                    var released = 0;
                    if (stop >= 0)
                    {
                        var (stopT, stopIndex) = (ts[stop], indices[slots[stop]]);
                        for (var k = 0; k < ts.Length; k++)
                        {
                            var i = indices[slots[k]];
                            if (k != stop && !Precedes(ts[k], i, stopT, stopIndex)) continue;
                            state.Release(i);
                            band.Add(i);
                            released++;
                        }
                        slope = 0;
                    }
                    if (released == 0 || slope < 0) throw new ExactSolverException("least absolute deviations: the objective seemed unbounded (rounding); no optimum verified");
                }
                for (var a = 0; a < m; a++) vertex[a] = band.Index[position[a]];
                breakT = new double[band.Count];
                breakJump = new double[band.Count];
                breakSlot = new int[band.Count];
                // The grown band is searched again from the same vertex: the step is recomputed.
                continue;
            }
            var length = breakT[entering];
            var enteringSlot = breakSlot[entering];
            // Residuals passed on the way changed sign: a tie among them now counts with the other sign.
            for (var b = 0; b < count; b++)
            {
                var p = breakSlot[b];
                if (Precedes(breakT[b], band.Index[p], length, band.Index[enteringSlot])) band.Tie[p] = (sbyte)-band.Sign(p);
            }
            bland = length <= 0;
            var leaving = position[j];
            band.InVertex[leaving] = false;
            // The leaving point's residual is −sign(w_j)·t after the step: a tie keeps that side.
            band.Tie[leaving] = (sbyte)-Math.Sign(w[j]);
            position[j] = enteringSlot;
            band.InVertex[enteringSlot] = true;
        }
        throw new ExactSolverException($"least absolute deviations: no verified optimum after {maxSteps} simplex steps");
    }

    /// <summary>The (about) <paramref name="size"/> points with the smallest |residual|.</summary>
    private static int[] Band(double[] residual, int size)
    {
        var n = residual.Length;
        if (size >= n) return [.. Enumerable.Range(0, n)];
        var magnitude = new double[n];
        for (var i = 0; i < n; i++) magnitude[i] = Math.Abs(residual[i]);
        var threshold = Nth(magnitude, size - 1);
        var band = new List<int>(size + 16);
        for (var i = 0; i < n; i++) if (Math.Abs(residual[i]) <= threshold) band.Add(i);
        return [.. band];
    }

    /// <summary>The k-th smallest value (0-based) by quickselect; reorders <paramref name="values"/>.</summary>
    private static double Nth(double[] values, int k)
    {
        int lo = 0, hi = values.Length - 1;
        var random = new Random(values.Length);
        while (lo < hi)
        {
            var pivot = values[lo + random.Next(hi - lo + 1)];
            int i = lo, j = hi;
            while (i <= j)
            {
                while (values[i] < pivot) i++;
                while (values[j] > pivot) j--;
                if (i <= j) { (values[i], values[j]) = (values[j], values[i]); i++; j--; }
            }
            if (k <= j) hi = j;
            else if (k >= i) lo = i;
            else return values[k];
        }
        return values[k];
    }

    /// <summary>Breakpoints are ordered by t, then by point index (Bland's rule among ties).</summary>
    private static bool Precedes(double t, int index, double otherT, int otherIndex) => t < otherT || (t == otherT && index < otherIndex);

    /// <summary>
    /// The slot of the breakpoint where the running sum of jumps, in (t, point index) order, first reaches <paramref name="need"/>;
    /// −1 when the jumps never add up to it. Expected O(count), by quickselect on the weights.
    /// </summary>
    private static int WeightedSelect(double[] t, double[] jump, int[] slot, int[] index, int count, double need)
    {
        int lo = 0, hi = count, fallback = -1;
        var random = new Random(count);
        while (lo < hi)
        {
            // Partition [lo, hi) around a random pivot: [lo, p) before it, then the pivot at p, then the rest.
            var pick = lo + random.Next(hi - lo);
            Swap(t, jump, slot, pick, hi - 1);
            var (pt, pi) = (t[hi - 1], index[slot[hi - 1]]);
            var p = lo;
            var before = 0.0;
            for (var k = lo; k < hi - 1; k++)
            {
                if (!Precedes(t[k], index[slot[k]], pt, pi)) continue;
                before += jump[k];
                Swap(t, jump, slot, k, p++);
            }
            Swap(t, jump, slot, p, hi - 1);
            // The sums of a part are recomputed in another order below: the pivot stays the answer should they round under.
            if (before >= need) { (hi, fallback) = (p, p); continue; }
            need -= before + jump[p];
            if (need <= 0) return p;
            lo = p + 1;
        }
        return fallback;
    }

    private static void Swap(double[] t, double[] jump, int[] index, int a, int b)
    {
        (t[a], t[b]) = (t[b], t[a]);
        (jump[a], jump[b]) = (jump[b], jump[a]);
        (index[a], index[b]) = (index[b], index[a]);
    }

    /// <summary>Iteratively reweighted least squares (weights 1/|r|): a few rounds bring the params close to the optimum.</summary>
    private static double[] Irls(ScaledBasis basis, double[] y, double[] start, double[] residual, CancellationToken ct)
    {
        var n = y.Length;
        var m = basis.Size;
        var u = start;
        Span<double> row = stackalloc double[m];
        for (var round = 0; ; round++)
        {
            var c = basis.PowerCoefficients(u);
            var sum = 0.0;
            for (var i = 0; i < n; i++) { residual[i] = y[i] - basis.ValueAt(c, i); sum += Math.Abs(residual[i]); }
            if (round == IrlsRounds) return u;
            ct.ThrowIfCancellationRequested();
            // The normal equations suffice here: the basis is well conditioned and the result is only a starting point.
            var floor = Math.Max(1e-300, 1e-9 * sum / n);
            var a = new double[m, m];
            var b = new double[m];
            for (var i = 0; i < n; i++)
            {
                var weight = 1 / Math.Max(Math.Abs(residual[i]), floor);
                basis.Row(i, row);
                for (var k = 0; k < m; k++)
                {
                    var wk = weight * row[k];
                    b[k] += wk * y[i];
                    for (var l = 0; l <= k; l++) a[k, l] += wk * row[l];
                }
            }
            for (var k = 0; k < m; k++) for (var l = k + 1; l < m; l++) a[k, l] = a[l, k];
            try
            {
                u = DenseAlgebra.Solve(a, b);
            }
            catch (ExactSolverException)
            {
                return u;
            }
            if (!u.All(double.IsFinite)) return start;
        }
    }

    /// <summary>Of the points at each distinct x, the one with the smallest |residual| (the lowest index among equals).</summary>
    private static List<int> ClosestAtEachX(ScaledBasis basis, double[] residual)
    {
        var slot = new Dictionary<double, int>();
        var closest = new List<int>();
        for (var i = 0; i < basis.X.Length; i++)
        {
            if (!slot.TryGetValue(basis.X[i], out var k))
            {
                slot.Add(basis.X[i], closest.Count);
                closest.Add(i);
            }
            else if (Math.Abs(residual[i]) < Math.Abs(residual[closest[k]]))
            {
                closest[k] = i;
            }
        }
        return closest;
    }

    /// <summary>Among the band points closest to the IRLS curve, m whose rows are independent and spread along x.</summary>
    private static int[] StartingVertex(ScaledBasis basis, int[] band, double[] residual)
    {
        var m = basis.Size;
        var wanted = Math.Min(band.Length, 16 * m + 16);
        var closest = new PriorityQueue<int, double>(wanted + 1, Comparer<double>.Create((p, q) => q.CompareTo(p)));
        foreach (var i in band)
        {
            var r = Math.Abs(residual[i]);
            if (closest.Count < wanted) closest.Enqueue(i, r);
            else if (closest.TryPeek(out _, out var worst) && r < worst) closest.EnqueueDequeue(i, r);
        }
        var candidates = new List<int>(wanted);
        while (closest.Count > 0) candidates.Add(closest.Dequeue());
        var chosen = Independent(basis, candidates);
        if (chosen.Count < m) chosen = Independent(basis, band);
        // The engine's fix of 2026-12-01, as above: at each distinct x, the point closest to the curve.
        if (chosen.Count < m && band.Length < residual.Length) chosen = Independent(basis, ClosestAtEachX(basis, residual));
        if (chosen.Count < m) throw new ExactSolverException("least absolute deviations: the points do not determine the params");
        return [.. chosen];
    }

    /// <summary>
    /// Up to m of the candidates whose rows are independent, chosen greedily by the largest component orthogonal to those
    /// already chosen (pivoted Gram–Schmidt): points spread along x, whose interpolant follows the curve everywhere.
    /// </summary>
    private static List<int> Independent(ScaledBasis basis, IReadOnlyList<int> candidates)
    {
        var m = basis.Size;
        var rows = new double[candidates.Count][];
        var norms0 = new double[candidates.Count];
        for (var c = 0; c < rows.Length; c++)
        {
            rows[c] = new double[m];
            basis.Row(candidates[c], rows[c]);
            norms0[c] = Math.Sqrt(rows[c].Sum(e => e * e));
        }
        var chosen = new List<int>(m);
        var taken = new bool[rows.Length];
        while (chosen.Count < m)
        {
            var best = -1;
            var bestNorm = 0.0;
            for (var c = 0; c < rows.Length; c++)
            {
                if (taken[c]) continue;
                var norm = Math.Sqrt(rows[c].Sum(e => e * e));
                if (norm > 1e-8 * norms0[c] && norm > bestNorm) (best, bestNorm) = (c, norm);
            }
            if (best < 0) break;
            taken[best] = true;
            chosen.Add(candidates[best]);
            var q = rows[best].Select(e => e / bestNorm).ToArray();
            for (var c = 0; c < rows.Length; c++)
            {
                if (taken[c]) continue;
                var dot = 0.0;
                for (var k = 0; k < m; k++) dot += q[k] * rows[c][k];
                for (var k = 0; k < m; k++) rows[c][k] -= dot * q[k];
            }
        }
        return chosen;
    }

    /// <summary>Dual feasibility and a zero duality gap over all points, or an exception: the vertex is optimal, not assumed so.</summary>
    private static void Certify(State state, double[] u, int[] vertex, double[] w)
    {
        var basis = state.Basis;
        var y = state.Y;
        var n = y.Length;
        var m = basis.Size;
        var lambda = new double[n];
        for (var i = 0; i < n; i++) lambda[i] = state.InVertex[i] ? 0 : state.Sign(i);
        for (var a = 0; a < m; a++) lambda[vertex[a]] = -w[a];

        var c = basis.PowerCoefficients(u);
        Span<double> row = stackalloc double[m];
        var balance = new double[m];
        double primal = 0, dual = 0, magnitude = 0, size = 0, worst = 0;
        for (var i = 0; i < n; i++)
        {
            var r = y[i] - basis.ValueAt(c, i);
            // A multiplier must agree with its residual's sign wherever the residual is not zero (complementary slackness).
            if (Math.Abs(r) > state.Zero && lambda[i] * Math.Sign(r) < 1 - MultiplierTolerance) worst = double.PositiveInfinity;
            worst = Math.Max(worst, Math.Abs(lambda[i]));
            basis.Row(i, row);
            for (var k = 0; k < m; k++) { balance[k] += lambda[i] * row[k]; size += Math.Abs(row[k]); }
            primal += Math.Abs(r);
            dual += lambda[i] * y[i];
            magnitude += Math.Abs(lambda[i] * y[i]);
        }
        var imbalance = balance.Max(Math.Abs);
        // Weak duality: for |λ| ≤ 1 and Σλ_i·v_i = 0, Σλ_i·y_i is a lower bound on every Σ|r_i|; reaching it proves optimality.
        var gap = primal - dual;
        if (worst > 1 + MultiplierTolerance || imbalance > 1e-9 * size / m || Math.Abs(gap) > 1e-9 * primal + 1e-12 * magnitude + 2 * n * state.Zero)
            throw new ExactSolverException(FormattableString.Invariant(
                $"least absolute deviations: the optimality certificate failed (largest multiplier {worst:G4}, imbalance {imbalance:G3}, duality gap {gap:G3})"));
    }
}
