namespace FitService.Engine.LearningRates;

/// <summary>The sweep of fastai's <c>lr_find</c>: rates from <paramref name="StartLearningRate"/> to <paramref name="EndLearningRate"/>, exponentially, over <paramref name="Steps"/> updates.</summary>
/// <param name="StartLearningRate">Rate of the first update (fastai: 1e-7).</param>
/// <param name="EndLearningRate">Rate the sweep would reach after <paramref name="Steps"/> updates (fastai: 10).</param>
/// <param name="Steps">Number of updates (fastai's num_it: 100).</param>
/// <param name="StopFactor">Stop once the smoothed loss exceeds this many times its best (fastai: 4).</param>
/// <param name="Beta">Smoothing of the loss, an exponential moving average with debiasing (fastai: 0.98).</param>
public sealed record LearningRateSweep(double StartLearningRate = 1e-7, double EndLearningRate = 10, int Steps = 100, double StopFactor = 4, double Beta = 0.98);

/// <summary>The finder's curve and its two suggestions.</summary>
/// <param name="LearningRates">Rate of each update done.</param>
/// <param name="Losses">Loss before each update (the raw curve).</param>
/// <param name="SmoothedLosses">The debiased moving average of the losses, what the suggestions read.</param>
/// <param name="Steep">The rate where the smoothed loss falls fastest against log(rate) (fastai's "steep"); null when the curve is too short.</param>
/// <param name="Minimum">The rate of the lowest smoothed loss, divided by 10 (fastai's "minimum"); null when the curve is too short.</param>
/// <param name="StopReason"><c>steps</c> (the sweep ran out), <c>exploded</c> (smoothed loss above StopFactor × best) or <c>diverged</c> (non-finite loss or params).</param>
/// <param name="Params">Params at the end of the sweep (for curiosity: the finder's params are not a fit).</param>
public sealed record LearningRateFinderResult(
    double[] LearningRates,
    double[] Losses,
    double[] SmoothedLosses,
    double? Steep,
    double? Minimum,
    string StopReason,
    double[] Params)
{
    /// <summary>The rate <c>learningRate: "auto"</c> uses: the smaller of the two suggestions (the safer one), or null.</summary>
    public double? Suggested => (Steep, Minimum) switch
    {
        ({ } s, { } m) => Math.Min(s, m),
        ({ } s, null) => s,
        (null, { } m) => m,
        _ => null,
    };
}

/// <summary>
/// fastai's learning-rate finder on the engine: one descent of the problem (its model, loss, optimizer and initial
/// params) whose rate grows exponentially at each update, the rate of update i being start·(end/start)^(i/steps);
/// the loss before each update is smoothed (avg = β·avg + (1−β)·loss, debiased by 1 − β^(i+1)) and the sweep stops
/// once the smoothed loss exceeds 4× its best, or the loss is no longer finite. Suggestions as fastai's lr_find:
/// leaving out the first 10% and last 5 points, "steep" is the rate at the most negative slope of the smoothed
/// loss against log(rate), "minimum" the rate of the lowest smoothed loss divided by 10.
/// </summary>
public static class LearningRateFinder
{
    /// <summary>Bounds of a sweep's number of updates.</summary>
    public const int MinSteps = 10, MaxSteps = 10_000;

    /// <summary>Runs the sweep. The problem's learning rate, schedule, steps, stop rules and history cadence are replaced by the sweep's.</summary>
    public static LearningRateFinderResult Run(FitProblem problem, LearningRateSweep? sweep = null, Action<FitProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        sweep ??= new LearningRateSweep();
        Validate(sweep);
        var gamma = Math.Pow(sweep.EndLearningRate / sweep.StartLearningRate, 1.0 / sweep.Steps);
        var run = Fitter.Run(problem with
        {
            LearningRate = sweep.StartLearningRate,
            Schedule = new ExponentialSchedule(gamma),
            Steps = sweep.Steps,
            Stop = null,
            HistoryEvery = 1,
            HistoryPerEpoch = false, // the sweep reads one loss per update
        }, progress, cancellationToken: cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();

        var losses = run.History;
        var smoothed = new List<double>();
        var average = 0.0;
        var best = double.PositiveInfinity;
        var stopReason = run.StopReason == StopReason.Diverged ? "diverged" : "steps";
        for (var i = 0; i < losses.Length; i++)
        {
            average = sweep.Beta * average + (1 - sweep.Beta) * losses[i];
            var value = average / (1 - Math.Pow(sweep.Beta, i + 1));
            smoothed.Add(value);
            best = Math.Min(best, value);
            if (value > sweep.StopFactor * best) { stopReason = "exploded"; break; }
        }
        var count = smoothed.Count;
        var rates = Enumerable.Range(0, count).Select(i => sweep.StartLearningRate * Math.Pow(gamma, i)).ToArray();
        var (steep, minimum) = Suggest(rates, [.. smoothed], sweep.Steps);
        return new LearningRateFinderResult(rates, losses[..count], [.. smoothed], steep, minimum, stopReason, run.Params);
    }

    /// <summary>fastai's suggestions on the recorded curve (the first steps/10 and the last 5 points left out, as lr_find does).</summary>
    public static (double? Steep, double? Minimum) Suggest(double[] rates, double[] smoothed, int steps)
    {
        var from = steps / 10;
        var to = smoothed.Length - 5;
        if (to - from < 2) (from, to) = (0, smoothed.Length); // a short curve: read all of it rather than nothing
        if (to - from < 2) return (null, null);
        var lowest = from;
        for (var i = from; i < to; i++) if (smoothed[i] < smoothed[lowest]) lowest = i;
        var steepest = from;
        var slope = double.PositiveInfinity;
        for (var i = from; i < to - 1; i++)
        {
            var s = (smoothed[i + 1] - smoothed[i]) / (Math.Log(rates[i + 1]) - Math.Log(rates[i]));
            if (s < slope) (slope, steepest) = (s, i);
        }
        return (rates[steepest], rates[lowest] / 10);
    }

    /// <summary>Problems with a sweep, as (field, message) with camelCase names.</summary>
    public static IReadOnlyList<(string Field, string Message)> Problems(LearningRateSweep sweep)
    {
        var errors = new List<(string, string)>();
        if (!(double.IsFinite(sweep.StartLearningRate) && sweep.StartLearningRate > 0)) errors.Add(("startLearningRate", "must be finite and > 0"));
        if (!(double.IsFinite(sweep.EndLearningRate) && sweep.EndLearningRate > sweep.StartLearningRate)) errors.Add(("endLearningRate", "must be finite and > startLearningRate"));
        if (sweep.Steps is < MinSteps or > MaxSteps) errors.Add(("steps", $"must be between {MinSteps} and {MaxSteps}"));
        if (!(sweep.StopFactor > 1)) errors.Add(("stopFactor", "must be > 1"));
        if (!(sweep.Beta is >= 0 and < 1)) errors.Add(("beta", "must be in [0, 1)"));
        return errors;
    }

    private static void Validate(LearningRateSweep sweep)
    {
        var errors = Problems(sweep);
        if (errors.Count > 0) throw new ArgumentException("invalid sweep: " + string.Join("; ", errors.Select(e => $"{e.Field} {e.Message}")), nameof(sweep));
    }
}
