using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FitService.Engine.Networks;

namespace FitService.Engine.Bench;

/// <summary>
/// `network`: one hidden layer of K ReLUs on N points (default 10,000 and 32), MSE, plain SGD, full batch: the engine's µs
/// per step (a whole Fitter.Run: kernel, optimizer, history) against PyTorch eager float64's (bench/torch_reference.py
/// time-network, a child process), each on 2 threads and on 1, measured in turn three times on the shared machine, best of each kept.
/// </summary>
public static class NetworkSteps
{
    public static void Print(string? torchScript, int points, int units, bool quick)
    {
        Console.WriteLine($"relu {units} on {points:N0} points, full batch, MSE, SGD ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, .NET {Environment.Version})");
        double engine = double.MaxValue, engineOne = double.MaxValue, torch = double.MaxValue, torchOne = double.MaxValue;
        for (var round = 0; round < 3; round++)
        {
            torch = Math.Min(torch, Torch(torchScript, points, units, quick ? 50 : 200, threads: 2));
            torchOne = Math.Min(torchOne, Torch(torchScript, points, units, quick ? 50 : 200, threads: 1));
            engine = Math.Min(engine, Engine(points, units, quick, threads: 2));
            engineOne = Math.Min(engineOne, Engine(points, units, quick, threads: 1));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  round {round} (best so far, µs/step): PyTorch 2 threads {torch:F1}, 1 thread {torchOne:F1}; engine 2 threads {engine:F1}, 1 thread {engineOne:F1}"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| points | units | threads (both) | PyTorch µs/step | engine µs/step | speed-up |\n|---:|---:|---:|---:|---:|---:|\n" +
            $"| {points:N0} | {units} | 2 | {torch:F1} | {engine:F1} | {torch / engine:F1}× |\n| {points:N0} | {units} | 1 | {torchOne:F1} | {engineOne:F1} | {torchOne / engineOne:F1}× |"));
    }

    public static FitProblem Problem(int points, int units, int steps)
    {
        var (x, y) = BenchData.Make(points);
        return new FitProblem(x, y, 0, new LossSpec(LossKind.Mse), 1e-3, steps, Network: NetworkSpec.Relu(units));
    }

    /// <summary>As SideBySide: (a run of S steps − a run of S/10) / 0.9·S, best of several.</summary>
    private static double Engine(int points, int units, bool quick, int threads)
    {
        var options = new FitRunOptions { MaxDegreeOfParallelism = threads };
        var steps = quick ? 200 : 1000;
        var big = Problem(points, units, steps);
        var small = big with { Steps = steps / 10 };
        Fitter.Run(small, options: options);
        Fitter.Run(big, options: options);
        var samples = new List<double>();
        for (var rep = 0; rep < (quick ? 2 : 5); rep++)
        {
            var t0 = Stopwatch.GetTimestamp();
            Fitter.Run(small, options: options);
            var t1 = Stopwatch.GetTimestamp();
            Fitter.Run(big, options: options);
            var t2 = Stopwatch.GetTimestamp();
            samples.Add(((t2 - t1) - (t1 - t0)) * 1e6 / Stopwatch.Frequency / (steps - steps / 10));
        }
        return samples.Min();
    }

    private static double Torch(string? script, int points, int units, int steps, int threads)
    {
        if (script is null) return double.NaN;
        var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true };
        foreach (var arg in new[] { script, "time-network", "--points", $"{points}", "--units", $"{units}", "--steps", $"{steps}", "--threads", $"{threads}" }) start.ArgumentList.Add(arg);
        using var python = Process.Start(start)!;
        var output = python.StandardOutput.ReadToEnd();
        python.WaitForExit();
        var line = output.Split('\n').LastOrDefault(l => l.TrimStart().StartsWith('{'));
        return line is null ? double.NaN : JsonDocument.Parse(line).RootElement.GetProperty("usPerStep").GetDouble();
    }
}
