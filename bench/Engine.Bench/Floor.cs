using System.Runtime.Intrinsics;
using FitService.Engine.Autodiff;

namespace FitService.Engine.Bench;

/// <summary>The floor: one plain pass that reads every x and y once (what a step cannot beat).</summary>
public static class Floor
{
    public static double Pass(double[] x, double[] y)
    {
        var sum = Vector256<double>.Zero;
        var n = x.Length & ~3;
        for (var i = 0; i < n; i += 4) sum += Lanes.Load(x, i) + Lanes.Load(y, i);
        var total = Lanes.Sum(sum);
        for (var i = n; i < x.Length; i++) total += x[i] + y[i];
        return total;
    }
}
