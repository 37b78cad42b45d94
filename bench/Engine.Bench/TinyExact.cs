using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using FitService.Engine.Exact;

namespace FitService.Engine.Bench;

/// <summary>
/// The exact optimum of a tiny problem, the one computed beside every lesson fit of a batch: today's solver against the
/// solver as it was before the tiny-problem work (the oracle in tests/Engine.Tests/Oracle, linked in), side by side in
/// one run. BenchmarkDotNet: <c>dotnet run -c Release --project bench/Engine.Bench -- --filter '*TinyExact*'</c>;
/// a quick CPU-time table: <c>-- tiny [--rounds N]</c>.
/// </summary>
[MemoryDiagnoser]
public class TinyExact
{
    private double[] _x = [];
    private double[] _y = [];
    private LossSpec _loss = new(LossKind.Mae);

    /// <summary>The problems: the lesson (20 points, MAE, degree 2), and the same points with MSE, Huber and degree 5.</summary>
    [Params("lesson mae d2", "lesson mse d2", "lesson huber d2", "lesson mae d5")]
    public string Case { get; set; } = "lesson mae d2";

    private int _degree = 2;

    [GlobalSetup]
    public void Setup() => (_x, _y, _degree, _loss) = Make(Case);

    [Benchmark(Baseline = true, Description = "before (oracle)")]
    public ExactOptimum Before() => Tests.Oracle.ExactSolver.Solve(_x, _y, null, _degree, _loss);

    [Benchmark(Description = "now")]
    public ExactOptimum Now() => ExactSolver.Solve(_x, _y, _degree, _loss);

    private static (double[] X, double[] Y, int Degree, LossSpec Loss) Make(string name) => name switch
    {
        "lesson mae d2" => (LessonData.X, LessonData.Y, 2, new LossSpec(LossKind.Mae)),
        "lesson mse d2" => (LessonData.X, LessonData.Y, 2, new LossSpec(LossKind.Mse)),
        "lesson huber d2" => (LessonData.X, LessonData.Y, 2, new LossSpec(LossKind.Huber)),
        "lesson mae d5" => (LessonData.X, LessonData.Y, 5, new LossSpec(LossKind.Mae)),
        _ => throw new ArgumentException(name, nameof(name)),
    };

    /// <summary>
    /// µs of this process's CPU per solve, before and now, interleaved in rounds (best round of each), with the bytes
    /// allocated per solve and the load average: quicker than BenchmarkDotNet and steadier on a loaded machine.
    /// </summary>
    public static void Print(int rounds)
    {
        Console.WriteLine("| problem | before µs CPU | now µs CPU | ratio | before bytes | now bytes | load average |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---|");
        foreach (var name in new[] { "lesson mae d2", "lesson mse d2", "lesson huber d2", "lesson mae d5" })
        {
            var (x, y, degree, loss) = Make(name);
            Func<ExactOptimum> before = () => Tests.Oracle.ExactSolver.Solve(x, y, null, degree, loss);
            Func<ExactOptimum> now = () => ExactSolver.Solve(x, y, degree, loss);
            const int Solves = 20_000;
            double bestBefore = double.MaxValue, bestNow = double.MaxValue;
            for (var round = 0; round < rounds; round++)
            {
                bestBefore = Math.Min(bestBefore, CpuMicroseconds(before, Solves));
                bestNow = Math.Min(bestNow, CpuMicroseconds(now, Solves));
            }
            Console.WriteLine($"| {name} | {bestBefore:F2} | {bestNow:F2} | {bestBefore / bestNow:F1}× | {Bytes(before)} | {Bytes(now)} | {Load()} |");
        }
    }

    private static double CpuMicroseconds(Func<ExactOptimum> solve, int solves)
    {
        var start = Process.GetCurrentProcess().TotalProcessorTime;
        for (var i = 0; i < solves; i++) solve();
        return (Process.GetCurrentProcess().TotalProcessorTime - start).TotalMicroseconds / solves;
    }

    private static long Bytes(Func<ExactOptimum> solve)
    {
        solve();
        var start = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++) solve();
        return (GC.GetAllocatedBytesForCurrentThread() - start) / 100;
    }

    private static string Load() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
}
