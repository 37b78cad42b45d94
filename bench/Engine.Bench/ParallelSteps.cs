using System.Diagnostics;
using System.Globalization;
using FitService.Engine.Autodiff;

namespace FitService.Engine.Bench;

/// <summary>
/// A big fit's step on one thread against the same step on two (bench/Engine.Bench parallel): today's one loop,
/// the chunked loop on 1 thread and on 2, measured in one process, in turn, round after round (the machine is
/// shared: each round sees the same conditions for every variant), after a warm-up. Prints the median and the
/// best µs per step, the ratio to the one loop, the process CPU time per step (what the threads really spent),
/// and the load average before and after.
/// </summary>
public static class ParallelSteps
{
    private static readonly (int Points, int Degree, LossKind Loss)[] Configs =
    [
        (1_000_000, 2, LossKind.Mae), (1_000_000, 2, LossKind.Mse), (1_000_000, 5, LossKind.Mae), (1_000_000, 5, LossKind.Mse),
    ];

    private static readonly int[] ThresholdSizes = [8_192, 16_384, 32_768, 65_536, 131_072, 262_144];

    private sealed record Variant(string Name, FusedKernel Kernel);

    public static void Print(bool quick)
    {
        var rounds = quick ? 5 : 15;
        Console.WriteLine($"One step (forward + backward) of a big fit, µs ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, .NET {Environment.Version}); load average before: {LoadAverage()}");
        Console.WriteLine($"Median (best) of {rounds} rounds; each round times every variant in turn. cpu = process CPU µs per step.");
        Console.WriteLine();
        Console.WriteLine("| points | degree | loss | one loop (today) | chunked, 1 thread | chunked, 2 threads | speed-up vs one loop | cpu µs/step, 1 / 2 threads |");
        Console.WriteLine("|---:|---:|---|---:|---:|---:|---:|---:|");
        foreach (var (points, degree, loss) in Configs) Row(points, degree, loss, rounds, stepsPerSample: quick ? 10 : 20);
        Console.WriteLine();
        Control(rounds);
        Console.WriteLine();
        Console.WriteLine("Threshold: where 2 threads start to pay (degree 2, mse).");
        Console.WriteLine();
        Console.WriteLine("| points | degree | loss | one loop (today) | chunked, 1 thread | chunked, 2 threads | speed-up vs one loop | cpu µs/step, 1 / 2 threads |");
        Console.WriteLine("|---:|---:|---|---:|---:|---:|---:|---:|");
        foreach (var points in ThresholdSizes) Row(points, 2, LossKind.Mse, rounds, stepsPerSample: Math.Max(20, 20_000_000 / points / (quick ? 10 : 1)));
        Console.WriteLine();
        Console.WriteLine("Whole runs (Fitter.Run, optimizer and history included; µs per step = median of (run of 52 steps − run of 2) / 50), by MaxDegreeOfParallelism:");
        Console.WriteLine();
        Console.WriteLine("| points | degree | loss | 1 thread | 2 threads | speed-up |");
        Console.WriteLine("|---:|---:|---|---:|---:|---:|");
        foreach (var (points, degree, loss) in Configs) RunRow(points, degree, loss, quick ? 3 : 7);
        Console.WriteLine();
        Console.WriteLine($"Load average after: {LoadAverage()}");
    }

    /// <summary>
    /// The control: one pass that only reads x and y (1,000,000 points), whole on one thread and in halves on two
    /// (Parallel.Invoke). Its ratio is how much of a second core the process got; no step can scale better.
    /// </summary>
    private static void Control(int rounds)
    {
        var (x, y) = BenchData.Make(1_000_000);
        // Halves copied once, outside the timing (a range of an array is a copy).
        var (x0, y0, x1, y1) = (x[..500_000], y[..500_000], x[500_000..], y[500_000..]);
        double HalvesOnTwo()
        {
            double a = 0, b = 0;
            Parallel.Invoke(() => a = Floor.Pass(x0, y0), () => b = Floor.Pass(x1, y1));
            return a + b;
        }
        var sink = 0.0;
        var one = new List<double>();
        var two = new List<double>();
        for (var k = 0; k < 50; k++) sink += Floor.Pass(x, y) + HalvesOnTwo();
        for (var round = 0; round < rounds * 2; round++)
        {
            var t0 = Stopwatch.GetTimestamp();
            for (var k = 0; k < 20; k++) sink += Floor.Pass(x, y);
            var t1 = Stopwatch.GetTimestamp();
            for (var k = 0; k < 20; k++) sink += HalvesOnTwo();
            var t2 = Stopwatch.GetTimestamp();
            one.Add((t1 - t0) * 1e6 / Stopwatch.Frequency / 20);
            two.Add((t2 - t1) * 1e6 / Stopwatch.Frequency / 20);
        }
        GC.KeepAlive(sink);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Control, one pass reading x and y (1,000,000 points): 1 thread {Median(one):N1} µs ({one.Min():N1}), halves on 2 threads {Median(two):N1} µs ({two.Min():N1}): {Median(one) / Median(two):F2}× ({one.Min() / two.Min():F2}×), the most a second core gave this process."));
    }

    private static void RunRow(int points, int degree, LossKind loss, int rounds)
    {
        var big = BenchData.Problem(points, degree, loss, steps: 52);
        var small = big with { Steps = 2 };
        FitRunOptions[] options = [new() { MaxDegreeOfParallelism = 1 }, new() { MaxDegreeOfParallelism = 2 }];
        var samples = options.Select(_ => new List<double>()).ToArray();
        foreach (var o in options) Fitter.Run(big, options: o); // warm-up and compile
        for (var round = 0; round < rounds; round++)
            for (var j = 0; j < options.Length; j++)
            {
                var o = options[(round + j) % options.Length];
                var t0 = Stopwatch.GetTimestamp();
                Fitter.Run(small, options: o);
                var t1 = Stopwatch.GetTimestamp();
                Fitter.Run(big, options: o);
                var t2 = Stopwatch.GetTimestamp();
                samples[(round + j) % options.Length].Add(((t2 - t1) - (t1 - t0)) * 1e6 / Stopwatch.Frequency / 50);
            }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {points:N0} | {degree} | {loss.ToString().ToLowerInvariant()} | {Median(samples[0]):N1} | {Median(samples[1]):N1} | {Median(samples[0]) / Median(samples[1]):F2}× |"));
    }

    private static void Row(int points, int degree, LossKind loss, int rounds, int stepsPerSample)
    {
        var problem = BenchData.Problem(points, degree, loss, steps: 1);
        Variant[] variants =
        [
            new("one loop", Fitter.Compile(problem, 1, chunkedFrom: int.MaxValue)),
            new("chunked 1", Fitter.Compile(problem, 1, chunkedFrom: 0)),
            new("chunked 2", Fitter.Compile(problem, 2, chunkedFrom: 0)),
        ];
        var parameters = Enumerable.Repeat(0.1, degree + 1).ToArray();
        var gradient = new double[degree + 1];
        var bits = variants.Select(v => BitConverter.DoubleToInt64Bits(v.Kernel.ForwardBackward(parameters, gradient))).ToArray();
        if (bits[1] != bits[2]) throw new InvalidOperationException("the chunked loss differs between 1 and 2 threads");

        var wall = variants.Select(_ => new List<double>()).ToArray();
        var cpu = variants.Select(_ => new List<double>()).ToArray();
        foreach (var v in variants) for (var k = 0; k < stepsPerSample * 3; k++) v.Kernel.ForwardBackward(parameters, gradient); // warm-up
        for (var round = 0; round < rounds; round++)
            for (var j = 0; j < variants.Length; j++)
            {
                var v = (round + j) % variants.Length; // rotate who goes first
                var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                var t0 = Stopwatch.GetTimestamp();
                for (var k = 0; k < stepsPerSample; k++) variants[v].Kernel.ForwardBackward(parameters, gradient);
                var elapsed = Stopwatch.GetElapsedTime(t0);
                var cpuUsed = Process.GetCurrentProcess().TotalProcessorTime - cpu0;
                wall[v].Add(elapsed.TotalMicroseconds / stepsPerSample);
                cpu[v].Add(cpuUsed.TotalMicroseconds / stepsPerSample);
            }
        string Cell(List<double> s) => string.Create(CultureInfo.InvariantCulture, $"{Median(s):N1} ({s.Min():N1})");
        var speedUp = string.Create(CultureInfo.InvariantCulture, $"{Median(wall[0]) / Median(wall[2]):F2}× ({wall[0].Min() / wall[2].Min():F2}×)");
        var cpuCell = string.Create(CultureInfo.InvariantCulture, $"{Median(cpu[1]):N0} / {Median(cpu[2]):N0}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {points:N0} | {degree} | {loss.ToString().ToLowerInvariant()} | {Cell(wall[0])} | {Cell(wall[1])} | {Cell(wall[2])} | {speedUp} | {cpuCell} |"));
    }

    private static double Median(List<double> samples)
    {
        var sorted = samples.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";
}
