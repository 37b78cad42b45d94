using FitService.Engine.Models;

namespace FitService.Engine;

/// <summary>
/// Checks a <see cref="FitProblem"/> with the rules of API.md and, for the optimizer, PyTorch's own checks.
/// Field names are the camelCase JSON names (<c>learningRate</c>, <c>optimizer.momentum</c>, …) so the API
/// can put them straight into a problem-details <c>errors</c> object.
/// </summary>
public static class FitProblemValidator
{
    /// <summary>Every problem found; empty when the problem is valid.</summary>
    /// <param name="problem">The problem.</param>
    /// <param name="maxPoints">Largest number of points accepted (the service's <c>Limits:MaxPoints</c>).</param>
    /// <param name="maxSteps">Largest number of steps accepted (the service's <c>Limits:MaxSteps</c>).</param>
    public static IReadOnlyList<(string Field, string Message)> Validate(FitProblem problem, int maxPoints = int.MaxValue, int maxSteps = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(problem);
        var errors = new List<(string Field, string Message)>();
        void Check(bool ok, string field, string message) { if (!ok) errors.Add((field, message)); }

        if (problem.X is null) errors.Add(("x", "is required"));
        else
        {
            Check(problem.X.Length >= 1, "x", "must have at least 1 point");
            Check(problem.X.Length <= maxPoints, "x", $"must have at most {maxPoints} points");
            CheckFinite(problem.X, "x", errors);
        }
        if (problem.Y is null) errors.Add(("y", "is required"));
        else
        {
            if (problem.X is not null) Check(problem.Y.Length == problem.X.Length, "y", $"length {problem.Y.Length} differs from x ({problem.X.Length})");
            CheckFinite(problem.Y, "y", errors);
        }
        if (problem.Weights is { } weights) ValidateWeights(weights, problem.X?.Length, errors);
        if (problem.Formula is null) Check(problem.Degree is >= 0 and <= Polynomial.MaxDegree, "degree", $"must be between 0 and {Polynomial.MaxDegree}");
        if (problem.Loss is null) errors.Add(("loss", "is required"));
        else
        {
            Check(Enum.IsDefined(problem.Loss.Kind), "loss", "must be mae, mse or huber");
            Check(double.IsFinite(problem.Loss.HuberDelta) && problem.Loss.HuberDelta > 0, "huberDelta", "must be finite and > 0");
        }
        Check(double.IsFinite(problem.LearningRate) && problem.LearningRate > 0, "learningRate", "must be finite and > 0");
        Check(problem.Steps >= 1, "steps", "must be ≥ 1");
        Check(problem.Steps <= maxSteps, "steps", $"must be ≤ {maxSteps}");
        if (problem.InitialParams is not null)
        {
            if (problem.Formula is { } formula)
                Check(problem.InitialParams.Length == formula.Parameters.Count, "initialParams", $"length {problem.InitialParams.Length} differs from the number of params ({formula.Parameters.Count})");
            else if (problem.Degree is >= 0 and <= Polynomial.MaxDegree)
                Check(problem.InitialParams.Length == problem.Degree + 1, "initialParams", $"length {problem.InitialParams.Length} differs from degree + 1 ({problem.Degree + 1})");
            CheckFinite(problem.InitialParams, "initialParams", errors);
        }
        ValidateOptimizer(problem.Optimizer, errors);
        ValidateSchedule(problem.Schedule, errors);
        if (problem.Stop is { } stop)
        {
            Check(stop.LossBelow is null || double.IsFinite(stop.LossBelow.Value), "stop.lossBelow", "must be finite");
            Check(stop.MinImprovement is null || (double.IsFinite(stop.MinImprovement.Value) && stop.MinImprovement >= 0), "stop.minImprovement", "must be finite and ≥ 0");
            Check(stop.Patience >= 1, "stop.patience", "must be ≥ 1");
        }
        Check(problem.HistoryEvery >= 1, "historyEvery", "must be ≥ 1");
        return errors;
    }

    /// <summary>
    /// Weights as the weighted losses need them: one per point, finite, ≥ 0, and a finite positive sum (all zero, or a sum
    /// that overflows, leaves the weighted mean undefined). Errors go to the field <c>weights</c>.
    /// </summary>
    public static void ValidateWeights(double[] weights, int? points, List<(string Field, string Message)> errors)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(errors);
        if (points is { } n && weights.Length != n)
        {
            errors.Add(("weights", $"length {weights.Length} differs from x ({n})"));
            return;
        }
        var sum = 0.0;
        for (var i = 0; i < weights.Length; i++)
        {
            var w = weights[i];
            if (!double.IsFinite(w) || w < 0)
            {
                errors.Add(("weights", $"value at index {i} must be finite and ≥ 0"));
                return;
            }
            sum += w;
        }
        if (!(sum > 0)) errors.Add(("weights", "must not all be 0"));
        else if (!double.IsFinite(sum)) errors.Add(("weights", "must have a finite sum"));
    }

    /// <summary>Throws <see cref="ArgumentException"/> listing every problem, if any.</summary>
    public static void ThrowIfInvalid(FitProblem problem)
    {
        var errors = Validate(problem);
        if (errors.Count > 0)
            throw new ArgumentException("invalid fit problem: " + string.Join("; ", errors.Select(e => $"{e.Field} {e.Message}")), nameof(problem));
    }

    // As torch.optim.SGD / Adam validate (they accept lr = 0, the API does not; epsilon may be 0 as in torch).
    private static void ValidateOptimizer(OptimizerSpec? optimizer, List<(string, string)> errors)
    {
        void Check(bool ok, string field, string message) { if (!ok) errors.Add((field, message)); }
        switch (optimizer)
        {
            case null:
                break;
            case SgdSpec sgd:
                Check(double.IsFinite(sgd.Momentum) && sgd.Momentum >= 0, "optimizer.momentum", "must be finite and ≥ 0");
                Check(double.IsFinite(sgd.Dampening), "optimizer.dampening", "must be finite");
                Check(!sgd.Nesterov || (sgd.Momentum > 0 && sgd.Dampening == 0), "optimizer.nesterov", "requires momentum > 0 and dampening = 0");
                break;
            case AdamSpec adam:
                Check(adam.Beta1 is >= 0 and < 1, "optimizer.beta1", "must be in [0, 1)");
                Check(adam.Beta2 is >= 0 and < 1, "optimizer.beta2", "must be in [0, 1)");
                Check(double.IsFinite(adam.Epsilon) && adam.Epsilon >= 0, "optimizer.epsilon", "must be finite and ≥ 0");
                break;
            default:
                errors.Add(("optimizer", "must be sgd or adam"));
                break;
        }
    }

    private static void ValidateSchedule(ScheduleSpec? schedule, List<(string, string)> errors)
    {
        void Check(bool ok, string field, string message) { if (!ok) errors.Add((field, message)); }
        static bool Positive(double v) => double.IsFinite(v) && v > 0;
        switch (schedule)
        {
            case null or ConstantSchedule:
                break;
            case StepSchedule s:
                Check(s.Every >= 1, "schedule.every", "must be ≥ 1");
                Check(Positive(s.Gamma), "schedule.gamma", "must be finite and > 0");
                break;
            case ExponentialSchedule e:
                Check(Positive(e.Gamma), "schedule.gamma", "must be finite and > 0");
                break;
            case CosineSchedule c:
                Check(double.IsFinite(c.MinLearningRate) && c.MinLearningRate >= 0, "schedule.minLearningRate", "must be finite and ≥ 0");
                break;
            case OneCycleSchedule o:
                Check(Positive(o.MaxLearningRate), "schedule.maxLearningRate", "must be finite and > 0");
                Check(o.WarmupFraction is >= 0 and <= 1, "schedule.warmupFraction", "must be in [0, 1]");
                Check(Positive(o.Div), "schedule.div", "must be finite and > 0");
                Check(Positive(o.DivFinal), "schedule.divFinal", "must be finite and > 0");
                break;
            default:
                errors.Add(("schedule", "must be constant, step, exponential, cosine or oneCycle"));
                break;
        }
    }

    private static void CheckFinite(double[] values, string field, List<(string, string)> errors)
    {
        for (var i = 0; i < values.Length; i++)
            if (!double.IsFinite(values[i]))
            {
                errors.Add((field, $"value at index {i} is not finite"));
                return;
            }
    }
}
