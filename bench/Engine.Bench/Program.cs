using BenchmarkDotNet.Running;
using FitService.Engine.Bench;

// table [--torch-script bench/torch_reference.py] [--quick]: the side-by-side table (bench/compare.sh);
// parallel [--quick]: a big fit's step on 1 thread and on 2, side by side (ParallelSteps);
// exact: the exact optimum's cost per loss at 1,000 / 100,000 / 1,000,000 points (ExactCost);
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
if (args.Length > 0 && args[0] == "exact")
{
    ExactCost.Print();
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(StepBenchmarks).Assembly).Run(args);
