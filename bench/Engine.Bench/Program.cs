using BenchmarkDotNet.Running;
using FitService.Engine.Bench;

// table [--torch-script bench/torch_reference.py] [--quick]: the side-by-side table (bench/compare.sh);
// parallel [--quick]: a big fit's step on 1 thread and on 2, side by side (ParallelSteps);
// network [--torch-script bench/torch_reference.py] [--points N] [--units K] [--quick]: a network's full-batch step against PyTorch's (NetworkSteps);
// exact: the exact optimum's cost per loss at 1,000 / 100,000 / 1,000,000 points (ExactCost);
// tiny [--rounds N]: the exact optimum of the lesson's tiny problems, before and now, µs of CPU per solve (TinyExact);
// anything else goes to BenchmarkDotNet (e.g. --filter '*').
if (args.Length > 0 && args[0] == "table")
{
    var torch = Array.IndexOf(args, "--torch-script") is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    SideBySide.Print(torch, args.Contains("--quick"));
    return;
}
if (args.Length > 0 && args[0] == "parallel")
{
    ParallelSteps.Print(args.Contains("--quick"));
    return;
}
if (args.Length > 0 && args[0] == "network")
{
    string? Arg(string name) => Array.IndexOf(args, name) is var k and >= 0 && k + 1 < args.Length ? args[k + 1] : null;
    NetworkSteps.Print(Arg("--torch-script"), int.Parse(Arg("--points") ?? "10000"), int.Parse(Arg("--units") ?? "32"), args.Contains("--quick"));
    return;
}
if (args.Length > 0 && args[0] == "exact")
{
    ExactCost.Print();
    return;
}
if (args.Length > 0 && args[0] == "tiny")
{
    TinyExact.Print(Array.IndexOf(args, "--rounds") is var r and >= 0 && r + 1 < args.Length ? int.Parse(args[r + 1]) : 5);
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(StepBenchmarks).Assembly).Run(args);
