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
        ValidateNetwork(problem, errors);
        if (problem.IsPolynomial) Check(problem.Degree is >= 0 and <= Polynomial.MaxDegree, "degree", $"must be between 0 and {Polynomial.MaxDegree}");
        if (problem.Loss is null) errors.Add(("loss", "is required"));
        else
        {
            Check(Enum.IsDefined(problem.Loss.Kind), "loss", "must be mae, mse, huber or bce");
            Check(double.IsFinite(problem.Loss.HuberDelta) && problem.Loss.HuberDelta > 0, "huberDelta", "must be finite and > 0");
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
        if (problem.Stop is { } stop)
        {
            Check(stop.LossBelow is null || double.IsFinite(stop.LossBelow.Value), "stop.lossBelow", "must be finite");
            Check(stop.MinImprovement is null || (double.IsFinite(stop.MinImprovement.Value) && stop.MinImprovement >= 0), "stop.minImprovement", "must be finite and ≥ 0");
            Check(stop.Patience >= 1, "stop.patience", "must be ≥ 1");
        }
        Check(problem.HistoryEvery >= 1, "historyEvery", "must be ≥ 1");
        return errors;
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
