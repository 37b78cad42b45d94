namespace FitService.Engine.Bench;

/// <summary>The points both sides fit (bench/torch_reference.py makes the same): x evenly on [−2, 2], y = 3x² + 2x + 1 + 1.5·sin(12.9898·i).</summary>
public static class BenchData
{
    public static (double[] X, double[] Y) Make(int n)
    {
        var x = new double[n];
        var y = new double[n];
        for (var i = 0; i < n; i++)
        {
            x[i] = -2.0 + 4.0 * i / Math.Max(n - 1, 1);
            y[i] = 3 * x[i] * x[i] + 2 * x[i] + 1 + 1.5 * Math.Sin(12.9898 * i);
        }
        return (x, y);
    }

    public static FitProblem Problem(int n, int degree, LossKind loss, int steps)
    {
        var (x, y) = Make(n);
        return new FitProblem(x, y, degree, new LossSpec(loss), 1e-3, steps, HistoryEvery: 1);
    }
}
