using FitService.Engine.Models;

namespace FitService.Engine;

/// <summary>
/// Checks a <see cref="FitProblem"/> with the rules of API.md and, for the optimizer, PyTorch's own checks.
/// Field names are the camelCase JSON names (<c>learningRate</c>, <c>optimizer.momentum</c>, …) so the API
/// can put them straight into a problem-details <c>errors</c> object. The numeric rules of each part (degree, finite
/// values, weights, optimizer, schedule, stop) are public: the API's validator reads the wire (names, nulls, defaults,
/// fields that do not apply) and hands each part here, so every numeric rule and its message is written once.
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
            var features = Math.Max(1, problem.Features);
            Check(problem.X.Length >= 1, "x", "must have at least 1 point");
            Check(problem.X.Length / features <= maxPoints, "x", $"must have at most {maxPoints} points");
            Check(problem.X.Length % features == 0, "x", $"has {problem.X.Length} values, not a whole number of rows of {features} features");
            CheckFinite(problem.X, "x", errors);
        }
        if (problem.Y is null) errors.Add(("y", "is required"));
        else
        {
            if (problem.X is not null && problem.Features >= 1)
                Check(problem.Y.Length == problem.Points, "y", problem.Features == 1
                    ? $"length {problem.Y.Length} differs from x ({problem.X.Length})"
                    : $"length {problem.Y.Length} differs from the number of rows of x ({problem.Points})");
            CheckFinite(problem.Y, "y", errors);
            if (problem.Loss?.Kind == LossKind.Bce && !problem.Y.All(v => v is >= 0 and <= 1)) errors.Add(("y", "values must be in [0, 1] for loss bce"));
        }
        if (problem.Weights is { } weights) ValidateWeights(weights, problem.Points, errors);
        ValidateNetwork(problem, errors);
        if (problem.IsPolynomial) ValidateDegree(problem.Degree, errors);
        if (problem.Loss is null) errors.Add(("loss", "is required"));
        else
        {
            Check(Enum.IsDefined(problem.Loss.Kind), "loss", "must be mae, mse, huber or bce");
            ValidateHuberDelta(problem.Loss.HuberDelta, errors);
        }
        Check(double.IsFinite(problem.LearningRate) && problem.LearningRate > 0, "learningRate", "must be finite and > 0");
        Check(problem.Steps >= 1, "steps", "must be ≥ 1");
        Check(problem.Steps <= maxSteps, "steps", $"must be ≤ {maxSteps}");
        if (problem.InitialParams is not null)
        {
            if (problem.Network is { } network)
            {
                if (NetworkShapeValid(network, problem.Features))
                    Check(problem.InitialParams.Length == network.ParameterCount(problem.Features), "initialParams",
                        $"length {problem.InitialParams.Length} differs from the network's number of params ({network.ParameterCount(problem.Features)}, in state_dict order)");
            }
            else if (problem.Formula is { } formula)
                Check(problem.InitialParams.Length == formula.Parameters.Count, "initialParams", $"length {problem.InitialParams.Length} differs from the number of params ({formula.Parameters.Count})");
            else if (problem.Degree is >= 0 and <= Polynomial.MaxDegree)
                Check(problem.InitialParams.Length == problem.Degree + 1, "initialParams", $"length {problem.InitialParams.Length} differs from degree + 1 ({problem.Degree + 1})");
            CheckFinite(problem.InitialParams, "initialParams", errors);
        }
        ValidateOptimizer(problem.Optimizer, errors);
        ValidateSchedule(problem.Schedule, errors);
        if (problem.Stop is { } stop) ValidateStop(stop, errors);
        Check(problem.HistoryEvery >= 1, "historyEvery", "must be ≥ 1");
        return errors;
    }

    /// <summary>A polynomial's degree: 0 to <see cref="Polynomial.MaxDegree"/>. Errors go to the field <c>degree</c>.</summary>
    public static void ValidateDegree(int degree, List<(string Field, string Message)> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (degree is < 0 or > Polynomial.MaxDegree) errors.Add(("degree", $"must be between 0 and {Polynomial.MaxDegree}"));
    }

    /// <summary>Huber's delta: finite and &gt; 0. Errors go to the field <c>huberDelta</c>.</summary>
    public static void ValidateHuberDelta(double delta, List<(string Field, string Message)> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (!double.IsFinite(delta) || !(delta > 0)) errors.Add(("huberDelta", "must be finite and > 0"));
    }

    /// <summary>A stop rule: a finite <c>lossBelow</c>, <c>minImprovement</c> finite and ≥ 0, <c>patience</c> ≥ 1 (fields <c>stop.…</c>).</summary>
    public static void ValidateStop(StopSpec stop, List<(string Field, string Message)> errors)
    {
        ArgumentNullException.ThrowIfNull(stop);
        ArgumentNullException.ThrowIfNull(errors);
        if (stop.LossBelow is { } below && !double.IsFinite(below)) errors.Add(("stop.lossBelow", "must be finite"));
        if (stop.MinImprovement is { } improvement && (!double.IsFinite(improvement) || !(improvement >= 0))) errors.Add(("stop.minImprovement", "must be finite and ≥ 0"));
        if (stop.Patience < 1) errors.Add(("stop.patience", "must be ≥ 1"));
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

    private static bool NetworkShapeValid(Networks.NetworkSpec network, int features) =>
        features is >= 1 and <= Networks.NetworkSpec.MaxFeatures && network.Hidden is { Length: <= Networks.NetworkSpec.MaxLayers } hidden
        && hidden.All(k => k is >= 1 and <= Networks.NetworkSpec.MaxUnits) && network.ParameterCount(features) <= Networks.NetworkSpec.MaxParams;

    // The network model and the fields that apply only to it.
    private static void ValidateNetwork(FitProblem problem, List<(string, string)> errors)
    {
        void Check(bool ok, string field, string message) { if (!ok) errors.Add((field, message)); }
        const string networksOnly = "applies only to the network models (model.type relu, mlp or linear)";
        if (problem.Network is not { } network)
        {
            Check(problem.Features == 1, "features", networksOnly + "; x of a polynomial or formula has one value per point");
            Check(!problem.Standardize, "standardize", networksOnly);
            Check(problem.BatchSize is null, "batchSize", networksOnly);
            Check(!problem.Shuffle, "shuffle", networksOnly);
            Check(!problem.HistoryPerEpoch, "historyPer", networksOnly);
            return;
        }
        Check(problem.Formula is null, "model", "a formula and a network cannot both be given");
        // The network kernel computes the plain mean of its batch's losses; per-point weights are the polynomial's and formulas'.
        Check(problem.Weights is null, "weights", "apply to polynomial and formula models, not yet to networks");
        Check(problem.Features is >= 1 and <= Networks.NetworkSpec.MaxFeatures, "features", $"must be between 1 and {Networks.NetworkSpec.MaxFeatures}");
        Check(Enum.IsDefined(network.Type), "model.type", "must be relu, mlp or linear");
        Check(Enum.IsDefined(network.Activation), "model.activation", "must be relu, tanh or sigmoid");
        if (network.Hidden is null) errors.Add(("model.layers", "is required"));
        else
        {
            switch (network.Type)
            {
                case Networks.NetworkType.Relu:
                    Check(network.Hidden.Length == 1, "model.units", "a relu model has exactly one hidden layer");
                    if (network.Hidden.Length == 1) Check(network.Hidden[0] is >= 1 and <= Networks.NetworkSpec.MaxUnits, "model.units", $"must be between 1 and {Networks.NetworkSpec.MaxUnits}");
                    break;
                case Networks.NetworkType.Linear:
                    Check(network.Hidden.Length == 0, "model.layers", "a linear model has no hidden layers");
                    break;
                default:
                    Check(network.Hidden.Length is >= 1 and <= Networks.NetworkSpec.MaxLayers, "model.layers", $"must list between 1 and {Networks.NetworkSpec.MaxLayers} layers");
                    for (var l = 0; l < network.Hidden.Length; l++)
                        if (network.Hidden[l] is < 1 or > Networks.NetworkSpec.MaxUnits)
                        {
                            errors.Add(("model.layers", $"layer {l} has {network.Hidden[l]} units; each must have between 1 and {Networks.NetworkSpec.MaxUnits}"));
                            break;
                        }
                    break;
            }
            var features = Math.Clamp(problem.Features, 1, Networks.NetworkSpec.MaxFeatures);
            var shapeOk = network.Hidden.Length <= Networks.NetworkSpec.MaxLayers && network.Hidden.All(k => k is >= 1 and <= Networks.NetworkSpec.MaxUnits);
            if (shapeOk && network.ParameterCount(features) > Networks.NetworkSpec.MaxParams)
                errors.Add(("model", $"has {network.ParameterCount(features)} params with {features} features; at most {Networks.NetworkSpec.MaxParams} are accepted"));
        }
        Check(problem.BatchSize is null or >= 1, "batchSize", "must be ≥ 1");
    }

    /// <summary>Throws <see cref="ArgumentException"/> listing every problem, if any.</summary>
    public static void ThrowIfInvalid(FitProblem problem)
    {
        var errors = Validate(problem);
        if (errors.Count > 0)
            throw new ArgumentException("invalid fit problem: " + string.Join("; ", errors.Select(e => $"{e.Field} {e.Message}")), nameof(problem));
    }

    /// <summary>
    /// An optimizer's hyperparameters, as torch.optim.SGD / Adam validate them (they accept lr = 0, the API does not;
    /// epsilon may be 0 as in torch; dampening ≥ 0). Errors go to the fields <c>optimizer.…</c>.
    /// </summary>
    public static void ValidateOptimizer(OptimizerSpec? optimizer, List<(string Field, string Message)> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        void Check(bool ok, string field, string message) { if (!ok) errors.Add((field, message)); }
        switch (optimizer)
        {
            case null:
                break;
            case SgdSpec sgd:
                Check(double.IsFinite(sgd.Momentum) && sgd.Momentum >= 0, "optimizer.momentum", "must be finite and ≥ 0");
                Check(double.IsFinite(sgd.Dampening) && sgd.Dampening >= 0, "optimizer.dampening", "must be finite and ≥ 0");
                Check(!sgd.Nesterov || (sgd.Momentum > 0 && sgd.Dampening == 0), "optimizer.nesterov", "requires momentum > 0 and dampening 0 (as torch.optim.SGD)");
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

    /// <summary>A schedule's numbers (fields <c>schedule.…</c>): <c>every</c> ≥ 1; rates, gammas and divisors finite and &gt; 0; the warm-up a fraction in (0, 1).</summary>
    public static void ValidateSchedule(ScheduleSpec? schedule, List<(string Field, string Message)> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
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
                Check(o.WarmupFraction is > 0 and < 1, "schedule.warmupFraction", "must be in (0, 1)");
                Check(Positive(o.MaxLearningRate), "schedule.maxLearningRate", "must be finite and > 0");
                Check(Positive(o.Div), "schedule.div", "must be finite and > 0");
                Check(Positive(o.DivFinal), "schedule.divFinal", "must be finite and > 0");
                break;
            default:
                errors.Add(("schedule", "must be constant, step, exponential, cosine or oneCycle"));
                break;
        }
    }

    /// <summary>The first value of <paramref name="values"/> that is not finite, as an error of <paramref name="field"/>.</summary>
    public static void CheckFinite(double[] values, string field, List<(string Field, string Message)> errors)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(errors);
        for (var i = 0; i < values.Length; i++)
            if (!double.IsFinite(values[i]))
            {
                errors.Add((field, $"value at index {i} is not finite"));
                return;
            }
    }
}
