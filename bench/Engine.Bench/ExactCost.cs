using System.Diagnostics;
using FitService.Engine.Exact;

namespace FitService.Engine.Bench;

/// <summary>
/// The exact optimum's cost (<c>dotnet run -c Release --project bench/Engine.Bench -- exact</c>): degree 2 on
/// <see cref="BenchData"/> with y rounded to one decimal (ties, as real measurements have), at 1,000 / 100,000 /
/// 1,000,000 points, per loss. Each row is the best of 5 runs after a warm-up, as wall time and as this process's CPU
/// time (on a shared, loaded machine the CPU time is the steadier figure); beside it a 60-step descent of the same problem.
/// </summary>
public static class ExactCost
{
    public static void Print()
    {
        Console.WriteLine($"| points | loss | optimum wall ms | optimum CPU ms | iterations | 60-step descent wall ms | load average |");
        Console.WriteLine("|---:|---|---:|---:|---:|---:|---|");
        foreach (var n in new[] { 1_000, 100_000, 1_000_000 })
        {
            var (x, y) = BenchData.Make(n);
            for (var i = 0; i < n; i++) y[i] = Math.Round(y[i], 1);
            foreach (var loss in new[] { LossKind.Mse, LossKind.Mae, LossKind.Huber })
            {
                var spec = new LossSpec(loss);
                var optimum = ExactSolver.Solve(x, y, 2, spec);
                var (wall, cpu) = Best(() => ExactSolver.Solve(x, y, 2, spec));
                var problem = new FitProblem(x, y, 2, spec, 1e-3, 60);
                Fitter.Run(problem);
                var (descent, _) = Best(() => Fitter.Run(problem));
                Console.WriteLine($"| {n:N0} | {loss.ToString().ToLowerInvariant()} | {wall:F2} | {cpu:F1} | {optimum.Iterations?.ToString() ?? "–"} | {descent:F2} | {Load()} |");
            }
        }
        // A harder MAE case: x at random on [0, 10], Laplace noise rounded to 0.1 (more simplex steps).
        var random = new Random(1);
        foreach (var n in new[] { 100_000, 1_000_000 })
        {
            var x = Enumerable.Range(0, n).Select(_ => random.NextDouble() * 10).ToArray();
            var y = x.Select(v => 1 + 2 * v - 0.3 * v * v + Math.Round(-Math.Log(random.NextDouble()) * (random.Next(2) * 2 - 1), 1)).ToArray();
            var spec = new LossSpec(LossKind.Mae);
            var optimum = ExactSolver.Solve(x, y, 2, spec);
            var (wall, cpu) = Best(() => ExactSolver.Solve(x, y, 2, spec));
            Console.WriteLine($"| {n:N0} (random x, Laplace noise) | mae | {wall:F2} | {cpu:F1} | {optimum.Iterations} | | {Load()} |");
        }
    }

    private static (double Wall, double Cpu) Best(Action run)
    {
        double wall = double.MaxValue, cpu = double.MaxValue;
        var process = Process.GetCurrentProcess();
        for (var round = 0; round < 5; round++)
        {
            process.Refresh();
            var cpu0 = process.TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            run();
            wall = Math.Min(wall, clock.Elapsed.TotalMilliseconds);
            process.Refresh();
            cpu = Math.Min(cpu, (process.TotalProcessorTime - cpu0).TotalMilliseconds);
        }
        return (wall, cpu);
    }

    private static string Load() => File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(1)) : "?";
}
