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

    public double Map(double value)
    {
        var t = Log
            ? (Math.Log10(value) - Math.Log10(Min)) / (Math.Log10(Max) - Math.Log10(Min))
            : (value - Min) / (Max - Min);
        return From + t * (To - From);
    }

    /// <summary>A linear axis covering [lo, hi] with about <paramref name="target"/> ticks.</summary>
    public static Axis Linear(double lo, double hi, int target = 6)
    {
        if (!double.IsFinite(lo) || !double.IsFinite(hi)) (lo, hi) = (0, 1);
        if (!(hi > lo))
        {
            var pad = lo == 0 ? 1 : Math.Abs(lo) * 0.1;
            (lo, hi) = (lo - pad, hi + pad);
        }
        var step = NiceStep((hi - lo) / target);
        var first = Math.Floor(lo / step);
        var last = Math.Ceiling(hi / step);
        var ticks = new List<Tick>();
        for (var k = first; k <= last; k++)
        {
            var value = k * step;
            if (value == 0) value = 0; // no "-0"
            ticks.Add(new Tick(value, FormatTick(value, step)));
        }
        return new Axis(first * step, last * step, false, ticks);
    }

    /// <summary>A log10 axis from the power of ten at or below <paramref name="lo"/> to the one at or above <paramref name="hi"/> (both &gt; 0).</summary>
    public static Axis Logarithmic(double lo, double hi)
    {
        var minExp = (int)Math.Floor(Math.Log10(lo));
        var maxExp = (int)Math.Ceiling(Math.Log10(hi));
        if (maxExp <= minExp) maxExp = minExp + 1;
        var decades = maxExp - minExp;
        var labelEvery = (int)Math.Ceiling(decades / 8.0);
        var ticks = new List<Tick>();
        for (var e = minExp; e <= maxExp; e++)
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
