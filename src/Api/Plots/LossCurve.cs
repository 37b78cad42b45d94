namespace FitService.Api.Plots;

/// <summary>
/// A loss history as its picture needs it, built in one pass over the history in pages: the entries to draw (all of
/// them up to 2 × <see cref="LossPlot.MaxDrawnBuckets"/>, else each bucket's lowest and highest in order) and the
/// extremes of the axes. Its size does not grow with the history: a 10,000,000-step fit is drawn from pages, never
/// from one array of all its entries.
/// </summary>
public sealed class LossCurve
{
    private readonly long _count;
    private readonly bool _thinned;
    private readonly List<(long Index, double Loss)> _drawn;
    private long _seen;
    private int _bucket;
    private long _bucketEnd;
    private (long Index, double Loss) _lo, _hi, _last;

    /// <summary>A curve of <paramref name="count"/> entries, to be given in order with <see cref="Add"/>.</summary>
    public LossCurve(long count)
    {
        _count = Math.Max(0, count);
        _thinned = _count > 2 * LossPlot.MaxDrawnBuckets;
        _drawn = new List<(long, double)>((int)Math.Min(_count, 2 * LossPlot.MaxDrawnBuckets + 1));
        _bucketEnd = BucketStart(1);
    }

    /// <summary>The curve of a whole history held in memory.</summary>
    public static LossCurve Of(double[] history)
    {
        var curve = new LossCurve(history.Length);
        curve.Add(history);
        return curve;
    }

    /// <summary>Entries of the history.</summary>
    public long Count => _count;

    /// <summary>Lowest and highest finite loss (infinities when there is none), and the lowest positive one.</summary>
    public double Min { get; private set; } = double.PositiveInfinity;

    public double Max { get; private set; } = double.NegativeInfinity;

    public double MinPositive { get; private set; } = double.PositiveInfinity;

    /// <summary>The index of the first entry with the lowest finite loss; null when no loss is finite.</summary>
    public long? LowestIndex { get; private set; }

    /// <summary>The entries to draw, by index, in order (non-finite losses break the line).</summary>
    public IReadOnlyList<(long Index, double Loss)> Drawn
    {
        get
        {
            if (_seen < _count) throw new InvalidOperationException($"the curve has {_seen} of its {_count} entries");
            if (!_thinned || _drawn.Count == 0 || _drawn[^1] == _last) return _drawn;
            return [.. _drawn, _last];
        }
    }

    /// <summary>The next entries of the history (beyond <see cref="Count"/> they are ignored).</summary>
    public void Add(ReadOnlySpan<double> losses)
    {
        foreach (var loss in losses)
        {
            if (_seen >= _count) return;
            var entry = (_seen, loss);
            if (double.IsFinite(loss))
            {
                if (loss < Min) (Min, LowestIndex) = (loss, _seen);
                Max = Math.Max(Max, loss);
                if (loss > 0) MinPositive = Math.Min(MinPositive, loss);
            }
            if (!_thinned) _drawn.Add(entry);
            else Thin(entry);
            _last = entry;
            _seen++;
        }
    }

    // Bucket b holds entries [b·count / buckets, (b + 1)·count / buckets); its lowest and highest finite entries are drawn.
    private void Thin((long Index, double Loss) entry)
    {
        if (entry.Index == BucketStart(_bucket)) _lo = _hi = entry;
        else if (double.IsFinite(entry.Loss))
        {
            if (!double.IsFinite(_lo.Loss) || entry.Loss < _lo.Loss) _lo = entry;
            if (!double.IsFinite(_hi.Loss) || entry.Loss > _hi.Loss) _hi = entry;
        }
        if (entry.Index + 1 < _bucketEnd) return;
        var (first, second) = _lo.Index <= _hi.Index ? (_lo, _hi) : (_hi, _lo);
        _drawn.Add(first);
        if (second.Index != first.Index) _drawn.Add(second);
        _bucket++;
        _bucketEnd = BucketStart(_bucket + 1);
    }

    private long BucketStart(int bucket) => (long)((Int128)bucket * _count / LossPlot.MaxDrawnBuckets);
}
