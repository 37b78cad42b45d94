using System.Diagnostics;
using System.Globalization;
using FitService.Engine.Autodiff;
using FitService.Engine.Optimization;

namespace FitService.Engine;

/// <summary>The step loop of one run; allocates nothing per step except when it reports progress.</summary>
/// <typeparam name="TSource">The model's gradient source: a struct for the polynomial and formulas (<see cref="FusedSource"/>), so its calls are direct.</typeparam>
internal sealed class Descent<TSource>(FitProblem problem, TSource kernel, double[] start, Action<FitProgress>? progress, TimeSpan progressInterval, CancellationToken cancellationToken)
    where TSource : IGradientSource
{
    private readonly double[] _params = [.. start];
    private readonly double[] _previous = new double[problem.ParameterCount];
    private readonly double[] _grad = new double[problem.ParameterCount];
    private readonly double[] _history = new double[HistoryLength(problem, kernel)];
    private readonly IOptimizer _optimizer = Optimizers.Create(problem.Optimizer, problem.ParameterCount);
    private int _recorded;
    // A history per epoch: the loss of the epoch's batches so far, weighted by their points.
    private double _epochLoss;
    private long _epochPoints;
    private int _epoch;

    public FitResult Run()
    {
        var steps = problem.Steps;
        var every = problem.HistoryEvery;
        var stop = problem.Stop;
        var best = double.PositiveInfinity;
        var stale = 0;
        // Look at the clock about every 16K points of work: ~20 ns per look is noise then.
        var checkEvery = Math.Max(1, 16_384 / kernel.Count);
        var countdown = checkEvery;
        var intervalTicks = (long)(progressInterval.TotalSeconds * Stopwatch.Frequency);
        var nextReport = Stopwatch.GetTimestamp() + intervalTicks;

        for (var i = 0; ; i++)
        {
            var loss = i == steps ? kernel.Forward(_params) : kernel.ForwardBackward(i, _params, _grad);
            if (!double.IsFinite(loss)) return Diverged(i, loss, $"the loss became {Name(loss)} at step {i}");
            if (i == steps) return Result(StopReason.Steps, i, loss);
            if (stop is not null)
            {
                if (loss < stop.LossBelow) return Result(StopReason.Converged, i, loss);
                if (stop.MinImprovement is { } minImprovement)
                {
                    if (loss < best - minImprovement) (best, stale) = (loss, 0);
                    else if (++stale >= stop.Patience) return Result(StopReason.Converged, i, loss);
                }
            }
            if (cancellationToken.IsCancellationRequested) return Result(StopReason.Cancelled, i, loss);

            if (!problem.HistoryPerEpoch) { if (i % every == 0) _history[_recorded++] = loss; }
            else RecordEpoch(i, loss);
            _params.CopyTo(_previous, 0);
            _optimizer.Step(_params, _grad, Schedules.LearningRate(problem.Schedule, problem.LearningRate, i, steps));
            if (!AllFinite(_params))
            {
                _previous.CopyTo(_params, 0);
                return Diverged(i, loss, $"a parameter became {Name(FirstNonFinite())} at update {i}");
            }

            if (progress is not null && --countdown == 0 && _recorded > 0)
            {
                countdown = checkEvery;
                var now = Stopwatch.GetTimestamp();
                if (now >= nextReport)
                {
                    progress(new FitProgress(i + 1, [.. _params], _history[_recorded - 1], _history[.._recorded]));
                    nextReport = Stopwatch.GetTimestamp() + intervalTicks;
                }
            }
        }
    }

    private FitResult Result(StopReason reason, int step, double loss)
    {
        FlushEpoch();
        return new(reason, step, [.. _params], loss, _history[.._recorded]);
    }

    private static int HistoryLength(FitProblem problem, TSource kernel)
    {
        var entries = problem.HistoryPerEpoch ? (problem.Steps + kernel.StepsPerEpoch - 1) / kernel.StepsPerEpoch : problem.Steps;
        return (entries + problem.HistoryEvery - 1) / problem.HistoryEvery;
    }

    /// <summary>Adds step i's batch loss to its epoch; the epoch's mean is recorded after its last batch (every HistoryEvery-th epoch).</summary>
    private void RecordEpoch(int i, double loss)
    {
        var points = kernel.BatchPoints(i);
        _epochLoss += loss * points;
        _epochPoints += points;
        _epoch = i / kernel.StepsPerEpoch;
        if ((i + 1) % kernel.StepsPerEpoch == 0) FlushEpoch();
    }

    /// <summary>Records the epoch in progress (a partial one at the end of a run) when it has batches and is an epoch to record.</summary>
    private void FlushEpoch()
    {
        if (!problem.HistoryPerEpoch || _epochPoints == 0) return;
        if (_epoch % problem.HistoryEvery == 0) _history[_recorded++] = _epochLoss / _epochPoints;
        (_epochLoss, _epochPoints) = (0, 0);
    }

    private FitResult Diverged(int step, double loss, string what)
    {
        var used = problem.Schedule is OneCycleSchedule o ? o.MaxLearningRate : problem.LearningRate;
        FlushEpoch();
        var suggested = LearningRateAdvice.Suggest(problem, used, step);
        var error = string.Create(CultureInfo.InvariantCulture,
            $"{what}: the learning rate {used:G4} is too large; try {suggested:G4} or smaller");
        return new(StopReason.Diverged, step, [.. _params], loss, _history[.._recorded], error, suggested);
    }

    private double FirstNonFinite()
    {
        foreach (var v in _params) if (!double.IsFinite(v)) return v;
        return double.NaN;
    }

    private static bool AllFinite(ReadOnlySpan<double> values)
    {
        foreach (var v in values) if (!double.IsFinite(v)) return false;
        return true;
    }

    private static string Name(double v) => double.IsNaN(v) ? "NaN" : v > 0 ? "+∞" : "−∞";
}
