using System.Globalization;

namespace FitService.Api.Plots;

/// <summary>One tick of an axis: where it is in data units and how it is labelled (empty for a minor tick).</summary>
public readonly record struct Tick(double Value, string Label);

/// <summary>
/// An axis: a data range mapped linearly (or by log10) onto a pixel range, with "nice" ticks (1, 2, 5 × 10^k, or
/// powers of ten on a log axis). The range is widened to whole ticks, so the first and last ticks sit on the ends.
/// </summary>
public sealed class Axis
{
    private Axis(double min, double max, bool log, IReadOnlyList<Tick> ticks)
    {
        Min = min;
        Max = max;
        Log = log;
        Ticks = ticks;
    }

    public double Min { get; }
    public double Max { get; }
    public bool Log { get; }
    public IReadOnlyList<Tick> Ticks { get; }

    /// <summary>Pixel of the first end (Min) and of the second end (Max); set when the plot is laid out.</summary>
    public double From { get; private set; }
    public double To { get; private set; }

    public Axis Place(double from, double to)
    {
        From = from;
        To = to;
        return this;
    }

    /// <summary>
    /// The pixel of a data value. Computed on halves, so that an axis spanning more than <see cref="double.MaxValue"/>
    /// (from −1e308 to 1e308) still maps every finite value to a finite pixel.
    /// </summary>
    public double Map(double value)
    {
        var t = Log
            ? (Math.Log10(value) - Math.Log10(Min)) / (Math.Log10(Max) - Math.Log10(Min))
            : (value / 2 - Min / 2) / (Max / 2 - Min / 2);
        return From + t * (To - From);
    }

    /// <summary>The data value at fraction <paramref name="t"/> of the way from Min to Max (finite for any finite ends).</summary>
    public double At(double t) => Log
        ? Math.Pow(10, Math.Log10(Min) * (1 - t) + Math.Log10(Max) * t)
        : Min * (1 - t) + Max * t;

    /// <summary>
    /// Most ticks an axis has, whatever its range: the tick count comes from the range's span by arithmetic, never from a
    /// loop over the range, so no input (subnormal, equal ends, ±1e308) can make an axis large or slow.
    /// </summary>
    public const int MaxTicks = 64;

    /// <summary>
    /// Narrowest span an axis has, relative to the size of its ends: a range narrower than this (equal values,
    /// <c>[1, 1.0000000000000002]</c>) is widened, or its ticks would differ by less than a double can tell apart.
    /// </summary>
    public const double MinRelativeSpan = 1e-9;

    /// <summary>Narrowest span in absolute terms, far above the subnormals (whose tick steps would round to 0).</summary>
    public const double MinSpan = 1e-290;

    /// <summary>A linear axis covering [lo, hi] with about <paramref name="target"/> ticks, at most <see cref="MaxTicks"/>.</summary>
    public static Axis Linear(double lo, double hi, int target = 6)
    {
        (lo, hi) = Widened(lo, hi);
        // Half the span is finite for any finite ends; the span itself is not (−1e308 to 1e308).
        var step = NiceStep((hi / 2 - lo / 2) / target * 2);
        var first = Math.Floor(lo / step);
        var last = Math.Ceiling(hi / step);
        // The division rounds (−1e-323 / 2e14 is −0): one more step where it left an end outside.
        if (first * step > lo) first--;
        if (last * step < hi) last++;
        var count = last - first;
        if (!(count >= 1 && count <= MaxTicks)) return Plain(lo, hi);
        var ticks = new List<Tick>((int)count + 1);
        for (var k = 0; k <= (int)count; k++)
        {
            var value = (first + k) * step;
            if (value == 0) value = 0; // no "-0"
            if (double.IsFinite(value)) ticks.Add(new Tick(value, FormatTick(value, step)));
        }
        var min = Math.Max(first * step, -double.MaxValue);
        var max = Math.Min(last * step, double.MaxValue);
        return new Axis(min, max, false, ticks);
    }

    /// <summary>Finite ends with a span a tick step can divide: non-finite ends become [0, 1], too narrow a range is widened around its middle.</summary>
    private static (double Lo, double Hi) Widened(double lo, double hi)
    {
        if (!double.IsFinite(lo) || !double.IsFinite(hi)) return (0, 1);
        if (lo > hi) (lo, hi) = (hi, lo);
        var size = Math.Max(Math.Abs(lo), Math.Abs(hi));
        if (hi / 2 - lo / 2 >= Math.Max(size * MinRelativeSpan, MinSpan) / 2) return (lo, hi);
        // Equal (or all but equal) values: a tenth of their size either side, as a lone point is shown; 1 around 0.
        var middle = lo / 2 + hi / 2;
        var pad = size < MinSpan ? 1 : size * 0.1;
        return (Math.Max(middle - pad, -double.MaxValue), Math.Min(middle + pad, double.MaxValue));
    }

    /// <summary>The fallback when nice ticks cannot be had: a tick at each end.</summary>
    private static Axis Plain(double lo, double hi) =>
        new(lo, hi, false, [new Tick(lo, lo.ToString("G4", CultureInfo.InvariantCulture)), new Tick(hi, hi.ToString("G4", CultureInfo.InvariantCulture))]);

    /// <summary>Lowest and highest power of ten a log axis reaches: those of the smallest subnormal and of <see cref="double.MaxValue"/>.</summary>
    private const int MinExponent = -323, MaxExponent = 308;

    /// <summary>
    /// A log10 axis from the power of ten at or below <paramref name="lo"/> to the one at or above <paramref name="hi"/> (both &gt; 0;
    /// anything else gives a decade around 1). Wide ranges get a tick every few decades, never more than <see cref="MaxTicks"/>.
    /// </summary>
    public static Axis Logarithmic(double lo, double hi)
    {
        if (!(lo > 0) || !double.IsFinite(lo)) lo = hi > 0 && double.IsFinite(hi) ? hi : 1;
        if (!(hi > 0) || !double.IsFinite(hi)) hi = lo;
        if (lo > hi) (lo, hi) = (hi, lo);
        var minExp = Math.Clamp((int)Math.Floor(Math.Log10(lo)), MinExponent, MaxExponent - 1);
        var maxExp = Math.Clamp((int)Math.Ceiling(Math.Log10(hi)), MinExponent + 1, MaxExponent);
        if (maxExp <= minExp) maxExp = minExp + 1;
        var decades = maxExp - minExp;
        var tickEvery = (int)Math.Ceiling(decades / (MaxTicks / 2.0));
        var labelEvery = tickEvery * (int)Math.Ceiling(decades / (8.0 * tickEvery));
        var ticks = new List<Tick>();
        for (var e = minExp; e <= maxExp; e += tickEvery)
        {
            var power = Math.Pow(10, e);
            ticks.Add(new Tick(power, (e - minExp) % labelEvery == 0 ? FormatPower(e) : ""));
            if (decades <= 3 && e < maxExp)
            {
                // Within two decades the 2s and 5s get labels too, or the axis would read only "1" and "10".
                for (var m = 2; m <= 9; m++) ticks.Add(new Tick(m * power, decades <= 2 && m is 2 or 5 ? FormatMultiple(m, e) : ""));
            }
        }
        return new Axis(Math.Pow(10, minExp), Math.Pow(10, maxExp), true, ticks);
    }

    private static double NiceStep(double raw)
    {
        var power = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var fraction = raw / power;
        return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power;
    }

    private static string FormatTick(double value, double step)
    {
        if (step >= 1e6 || step < 1e-4) return value.ToString("0.###e0", CultureInfo.InvariantCulture);
        var decimals = Math.Max(0, -(int)Math.Floor(Math.Log10(step)));
        return value.ToString("F" + decimals, CultureInfo.InvariantCulture);
    }

    private static string FormatMultiple(int multiple, int exponent) => exponent is >= -4 and <= 5
        ? (multiple * Math.Pow(10, exponent)).ToString("F" + Math.Max(0, -exponent), CultureInfo.InvariantCulture)
        : multiple.ToString(CultureInfo.InvariantCulture) + "e" + exponent.ToString(CultureInfo.InvariantCulture);

    private static string FormatPower(int exponent) => exponent is >= -4 and <= 5
        ? Math.Pow(10, exponent).ToString("F" + Math.Max(0, -exponent), CultureInfo.InvariantCulture)
        : "1e" + exponent.ToString(CultureInfo.InvariantCulture);
}
