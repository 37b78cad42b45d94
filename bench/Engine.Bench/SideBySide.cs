using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace FitService.Engine.Bench;

/// <summary>
/// The side-by-side table: the engine's µs per step (a whole Fitter.Run: kernel, optimizer, history),
/// PyTorch's (bench/torch_reference.py time --only …, run as a child process), the ratio, and the floor.
/// The machine is shared, so for each configuration the two sides are measured in turn, twice, and the
/// best of each is kept: both see the same conditions.
/// </summary>
public static class SideBySide
{
    private static readonly (int Points, int Degree, LossKind Loss)[] Configs =
    [
        (20, 2, LossKind.Mae), (20, 2, LossKind.Mse), (20, 5, LossKind.Mae), (20, 5, LossKind.Mse),
        (1_000_000, 2, LossKind.Mae), (1_000_000, 2, LossKind.Mse), (1_000_000, 5, LossKind.Mae), (1_000_000, 5, LossKind.Mse),
    ];

    public static void Print(string? torchScript, bool quick)
    {
        Console.WriteLine($"Engine vs PyTorch, µs per step ({DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores, {CpuModel()}, .NET {Environment.Version})");
        Console.WriteLine();
        Console.WriteLine("| points | degree | loss | PyTorch µs/step | engine µs/step | speed-up | floor µs (read x, y) | step / floor |");
        Console.WriteLine("|---:|---:|---|---:|---:|---:|---:|---:|");
        foreach (var (points, degree, loss) in Configs)
        {
            double engine = double.MaxValue, t = double.MaxValue;
            for (var round = 0; round < 2; round++)
            {
                t = Math.Min(t, TorchMicrosecondsPerStep(torchScript, points, degree, loss, quick));
                engine = Math.Min(engine, EngineMicrosecondsPerStep(points, degree, loss, quick));
            }
            var floor = FloorMicroseconds(points, quick);
            var ratio = t > 0 ? (t / engine).ToString("F0", CultureInfo.InvariantCulture) + "×" : "–"; // NaN > 0 is false
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {points:N0} | {degree} | {loss.ToString().ToLowerInvariant()} | {(t > 0 ? t.ToString("F1", CultureInfo.InvariantCulture) : "–")} | {engine:F3} | {ratio} | {floor:F3} | {engine / floor:F2} |"));
        }
    }

    /// <summary>Best over repetitions (the machine is shared: the minimum is the least disturbed) of (time of a run of S steps − time of a run of S/10 steps) / (0.9·S): per-step cost without set-up.</summary>
    private static double EngineMicrosecondsPerStep(int points, int degree, LossKind loss, bool quick)
    {
        var steps = points <= 1000 ? (quick ? 200_000 : 2_000_000) : (quick ? 20 : 100);
        var big = BenchData.Problem(points, degree, loss, steps);
        var small = big with { Steps = steps / 10 };
        Fitter.Run(small);
        Fitter.Run(big);
        var samples = new List<double>();
        for (var rep = 0; rep < (quick ? 3 : 7); rep++)
        {
            var t0 = Stopwatch.GetTimestamp();
            Fitter.Run(small);
            var t1 = Stopwatch.GetTimestamp();
            Fitter.Run(big);
            var t2 = Stopwatch.GetTimestamp();
            samples.Add(((t2 - t1) - (t1 - t0)) * 1e6 / Stopwatch.Frequency / (steps - steps / 10));
        }
        return samples.Min();
    }

    private static double FloorMicroseconds(int points, bool quick)
    {
        var (x, y) = BenchData.Make(points);
        var passes = Math.Max(10, 50_000_000 / points);
        if (quick) passes /= 10;
        var samples = new List<double>();
        var sink = 0.0;
        for (var rep = 0; rep < 5; rep++)
        {
            var t0 = Stopwatch.GetTimestamp();
            for (var k = 0; k < passes; k++) sink += Floor.Pass(x, y);
            samples.Add((Stopwatch.GetTimestamp() - t0) * 1e6 / Stopwatch.Frequency / passes);
        }
        GC.KeepAlive(sink);
        return samples.Min();
    }

    private static string CpuModel() =>
        File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name"))?.Split(':', 2)[1].Trim() ?? "unknown CPU"
            : System.Runtime.InteropServices.RuntimeInformation.OSArchitecture.ToString();

    /// <summary>PyTorch's µs per step from the script, or NaN without it.</summary>
    private static double TorchMicrosecondsPerStep(string? script, int points, int degree, LossKind loss, bool quick)
    {
        if (script is null) return double.NaN;
        var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true };
        foreach (var arg in new[] { script, "time", "--only", $"{points}", $"{degree}", loss.ToString().ToLowerInvariant() }) start.ArgumentList.Add(arg);
        if (quick) start.ArgumentList.Add("--quick");
        using var python = Process.Start(start)!;
        var output = python.StandardOutput.ReadToEnd();
        python.WaitForExit();
        var line = output.Split('\n').LastOrDefault(l => l.TrimStart().StartsWith('{'));
        return line is null ? double.NaN : JsonDocument.Parse(line).RootElement.GetProperty("usPerStep").GetDouble();
    }
}
