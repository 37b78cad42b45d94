namespace FitService.Engine.Optimization;

/// <summary>The learning rate used at update i (i = 0 … steps − 1), in closed form.</summary>
internal static class Schedules
{
    public static double LearningRate(ScheduleSpec? schedule, double baseRate, int i, int steps) => schedule switch
    {
        null or ConstantSchedule => baseRate,
        // StepLR / ExponentialLR: rate·γ^⌊i/every⌋, rate·γ^i.
        StepSchedule s => baseRate * Math.Pow(s.Gamma, i / s.Every),
        ExponentialSchedule e => baseRate * Math.Pow(e.Gamma, i),
        // CosineAnnealingLR with T_max = steps.
        CosineSchedule c => c.MinLearningRate + (baseRate - c.MinLearningRate) * (1.0 + Math.Cos(Math.PI * i / steps)) / 2.0,
        OneCycleSchedule o => OneCycle(o, (double)i / steps),
        _ => throw new ArgumentException($"unknown schedule {schedule.GetType().Name}", nameof(schedule)),
    };

    /// <summary>fastai's fit_one_cycle: combine_scheds([pct, 1 − pct], [SchedCos(max/div, max), SchedCos(max, max/divFinal)]) at position pos ∈ [0, 1).</summary>
    private static double OneCycle(OneCycleSchedule o, double pos)
    {
        var max = o.MaxLearningRate;
        return pos < o.WarmupFraction
            ? Cos(max / o.Div, max, pos / o.WarmupFraction)
            : Cos(max, max / o.DivFinal, (pos - o.WarmupFraction) / (1.0 - o.WarmupFraction));
    }

    /// <summary>fastai's sched_cos: start + (1 + cos(π(1 − pos)))·(end − start)/2.</summary>
    private static double Cos(double start, double end, double pos) =>
        start + (1.0 + Math.Cos(Math.PI * (1.0 - pos))) * (end - start) / 2.0;
}
