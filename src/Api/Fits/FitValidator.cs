using FitService.Engine;
using FitService.Engine.Exact;
using FitService.Engine.Formulas;
using FitService.Engine.Networks;
using FitService.Engine.LearningRates;
using FitService.Engine.Models;
using FitService.Api.Webhooks;

namespace FitService.Api.Fits;

/// <summary>A request that passed validation: the normalised spec and the points (with their weights, when given).</summary>
public sealed record ValidFit(FitSpec Spec, double[] X, double[] Y, double[]? Weights = null);

/// <summary>Checks a <see cref="FitRequest"/> against every rule of the contract and fills in the defaults.</summary>
public static class FitValidator
{
    public static readonly string[] Losses = ["mae", "mse", "huber", "bce"];
    public static readonly string[] Optimizers = ["sgd", "adam"];
    public static readonly string[] Schedules = ["constant", "step", "exponential", "cosine", "oneCycle"];

    public const string Descent = FitSolvers.Descent, Exact = FitSolvers.Exact;
    public static readonly string[] Solvers = [Descent, Exact];

    /// <summary>The polynomial's degree when a request gives neither <c>degree</c> nor <c>model</c>: a quadratic, as the lesson.</summary>
    public const int DefaultDegree = 2;

    /// <summary>The loss when a request gives none: mean squared error (least squares, as numpy.polyfit).</summary>
    public const string DefaultLoss = "mse";

    /// <summary>Most updates when a descent request gives no <c>steps</c>; the default stop rule usually ends it far sooner.</summary>
    public const int DefaultSteps = 100_000;

    /// <summary>Updates without a new lowest loss that end a descent whose request gave neither <c>steps</c> nor <c>stop</c>.</summary>
    public const int DefaultPatience = 100;

    /// <summary>Fields of the descent that the exact solver ignores (with a warning each).</summary>
    private static readonly string[] DescentOnly = ["learningRate", "steps", "historyEvery", "initialParams", "optimizer", "schedule", "stop", "seed", "batchSize", "shuffle", "epochs", "historyPerEpoch"];

    public static ValidFit? Validate(FitRequest request, LimitsOptions limits, ValidationErrors errors)
    {
        var y = request.Y;
        var warnings = new List<string>();
        var model = request.Model;
        if (model?.Type is { } type && !NetworkModels.Types.Contains(type)) errors.Add("model.type", $"must be one of {string.Join(", ", NetworkModels.Types)}");
        var isNetwork = NetworkModels.IsNetwork(model);
        var x = ValidateX(request.X, y, limits, errors, rowsAllowed: isNetwork);
        var points = request.X?.Count ?? 0;
        var features = request.X is { AsRows: true } rows ? rows.Features : 1;
        var degree = model is null ? request.Degree ?? DefaultDegree : request.Degree;
        Formula? formula = null;
        NetworkSpec? network = null;
        if (isNetwork)
        {
            if (degree is not null) errors.Add("degree", "does not apply with model: give either degree or model");
            network = NetworkModels.Validate(model!, features, limits, errors);
        }
        else if (model?.Type is null or NetworkModels.Formula) formula = ValidateModel(degree, model, errors);
        else ValidateModel(degree, null, errors);
        ValidateWeights(request.Weights, request.X?.Count, isNetwork, errors);
        var loss = request.Loss ?? DefaultLoss;
        ValidateLoss(loss, request.HuberDelta, errors, y);
        if (!isNetwork)
        {
            foreach (var field in NetworkModels.NetworkOnlyFields.Where(f => Given(request, f)))
                errors.Add(field, "applies only to the network models (model.type relu, mlp or linear)");
        }

        var solver = request.Solver ?? Descent;
        if (!Solvers.Contains(solver)) errors.Add("solver", $"must be one of {string.Join(", ", Solvers)}");
        var exact = solver == Exact;
        if (exact)
        {
            // The optimum is computed directly: nothing of the descent applies, and what was sent for it is ignored.
            if (formula is not null) errors.Add("solver", "exact needs a polynomial (degree); formula models are fitted by descent only");
            else if (Losses.Contains(loss) && (network is not null || loss == "bce") && ExactSolver.NotApplicable(ProblemFor(degree, loss, network, features)) is { } why)
                errors.Add("solver", why);
            foreach (var field in DescentOnly.Where(f => Given(request, f)))
                warnings.Add($"{field} does not apply to solver exact and was ignored");
        }

        // A request without a rate or steps gets the finder's rate and runs until converged (or the default steps).
        var rate = exact ? (LearningRateValue?)null : request.LearningRate ?? LearningRateValue.Auto;
        if (rate?.Rate is { } r && (!(r > 0) || !double.IsFinite(r))) errors.Add("learningRate", "must be finite and > 0, or \"auto\"");

        if (request.BatchSize is { } batch && (batch < 1 || (points > 0 && batch > points)))
            errors.Add("batchSize", $"must be between 1 and the number of points ({Math.Max(points, 1)})");
        if (request.Seed is < 0) errors.Add("seed", "must be ≥ 0");
        var batchPoints = request.BatchSize is { } b and > 0 && b < points ? b : Math.Max(points, 1);
        int? stepsOfEpochs = null;
        if (!exact && request.Epochs is { } epochs)
        {
            if (request.Steps is not null) errors.Add("epochs", "give either steps or epochs, not both");
            else if (epochs < 1) errors.Add("epochs", "must be ≥ 1");
            else if (NetworkModels.StepsOf(epochs, Math.Max(points, 1), request.BatchSize) is var epochSteps && epochSteps > limits.MaxSteps)
                errors.Add("epochs", $"{epochs} epochs of {NetworkModels.BatchesPerEpoch(Math.Max(points, 1), request.BatchSize)} batches are {epochSteps} steps; at most {limits.MaxSteps} (Limits:MaxSteps) are allowed");
            else stepsOfEpochs = (int)epochSteps;
        }

        var parameterCount = network is not null ? network.ParameterCount(features)
            : formula?.Parameters.Count ?? Polynomial.ParameterCount(degree);
        var steps = exact ? 0 : stepsOfEpochs ?? request.Steps ?? (isNetwork
            ? StepsWithin(FitWork.AffordableNetworkSteps(Math.Max(points, 1), batchPoints, parameterCount ?? 1, rate?.IsAuto == true, loss != "bce", limits.MaxWork), limits)
            : DefaultStepsFor(x?.Length ?? 1, parameterCount ?? 1, loss, rate?.IsAuto == true, limits));
        if (!exact && request.Steps is { } asked && (asked < 1 || asked > limits.MaxSteps))
            errors.Add("steps", $"must be between 1 and {limits.MaxSteps} (Limits:MaxSteps)");
        var defaultStop = !exact && request.Steps is null && request.Epochs is null && request.Stop is null;

        if (!exact)
        {
            var what = network is not null ? "the network's number of params" : formula is null ? "degree + 1" : "the number of params";
            ValidateParams(request.InitialParams, isNetwork && network is null ? null : parameterCount, what, "initialParams", errors);
        }

        var optimizer = exact ? null : ValidateOptimizer(request.Optimizer, errors);
        var schedule = exact ? null : ValidateSchedule(request.Schedule, rate?.Rate, rate?.IsAuto == true, errors);
        var stop = exact ? null : defaultStop ? new StopDto { MinImprovement = 0, Patience = DefaultPatience } : ValidateStop(request.Stop, errors);

        var every = exact ? 1 : request.HistoryEvery ?? 1;
        if (every < 1) errors.Add("historyEvery", "must be ≥ 1");

        ValidateLabel(request.Label, limits, errors);
        var webhook = request.Webhook;
        WebhookUrls.Validate(webhook, errors);

        if (errors.Any) return null;
        var spec = new FitSpec
        {
            Degree = formula is null && network is null ? degree : null,
            Model = network is not null ? NetworkModels.Normalized(model!)
                : formula is null ? null : new ModelDto { Formula = formula.Text, Params = [.. formula.Parameters] },
            Solver = solver,
            Loss = loss,
            HuberDelta = loss == "huber" ? request.HuberDelta ?? 1.0 : null,
            LearningRate = exact ? null : rate,
            Steps = steps,
            Points = points,
            Weighted = request.Weights is null ? null : true,
            // Zeros often sit on a saddle of a formula (a·exp(b·x) at a = b = 0 has no gradient), so formulas start at ones;
            // a network without initialParams starts from PyTorch's initialization drawn from its seed (the engine draws it).
            InitialParams = exact ? null : network is not null ? request.InitialParams
                : request.InitialParams ?? Enumerable.Repeat(formula is null ? 0.0 : 1.0, parameterCount!.Value).ToArray(),
            Optimizer = optimizer,
            Schedule = schedule,
            Stop = stop,
            HistoryEvery = every,
            Webhook = webhook,
            Label = request.Label,
            ScaleX = !exact && formula is null && network is null && request.LearningRate is null && request.InitialParams is null ? Scaling(x!) : null,
            Features = network is null ? null : features,
            Standardize = network is null ? null : request.Standardize ?? false,
            Seed = network is null ? null : request.Seed ?? 0,
            BatchSize = network is null || exact ? null : request.BatchSize,
            Shuffle = network is null || exact ? null : request.Shuffle ?? false,
            Epochs = network is null || exact ? null : request.Epochs,
            HistoryPerEpoch = network is null || exact ? null : request.HistoryPerEpoch ?? false,
            Warnings = warnings.Count == 0 ? null : [.. warnings],
        };
        return new ValidFit(spec, x!, y!, request.Weights);
    }

    /// <summary>A stand-in problem of the model and loss, for the engine's word on whether its exact solver applies.</summary>
    private static FitProblem ProblemFor(int? degree, string loss, NetworkSpec? network, int features) =>
        new(new double[Math.Max(features, 1)], [0], degree is >= 0 and <= Polynomial.MaxDegree ? degree.Value : 0, ToLossSpec(loss, null), 1, 1,
            Network: network, Features: Math.Max(features, 1));

    /// <summary>
    /// <see cref="DefaultSteps"/>, within <c>Limits:MaxSteps</c> and small enough that the default never makes a fit heavier
    /// than <c>Limits:MaxWork</c> (<see cref="FitWork"/>: the finder's sweep and the optimum included).
    /// </summary>
    public static int DefaultStepsFor(int points, int parameters, string? loss, bool auto, LimitsOptions limits) =>
        StepsWithin(FitWork.AffordableSteps(points, parameters, loss == "bce" ? null : loss, auto, limits.MaxWork), limits);

    private static int StepsWithin(double affordable, LimitsOptions limits) =>
        (int)Math.Clamp(Math.Min(affordable, Math.Min(DefaultSteps, limits.MaxSteps)), 1, DefaultSteps);

    /// <summary>x' = (x − center)/halfRange maps the points onto [−1, 1]; null when every x is the same.</summary>
    private static XScaling? Scaling(double[] x)
    {
        double min = x.Min(), max = x.Max();
        return max > min ? new XScaling(min / 2 + max / 2, max / 2 - min / 2) : null;
    }

    private static bool Given(FitRequest request, string field) => field switch
    {
        "standardize" => request.Standardize is not null,
        "seed" => request.Seed is not null,
        "batchSize" => request.BatchSize is not null,
        "shuffle" => request.Shuffle is not null,
        "epochs" => request.Epochs is not null,
        "historyPerEpoch" => request.HistoryPerEpoch is not null,
        "learningRate" => request.LearningRate is not null,
        "steps" => request.Steps is not null,
        "historyEvery" => request.HistoryEvery is not null,
        "initialParams" => request.InitialParams is not null,
        "optimizer" => request.Optimizer is not null,
        "schedule" => request.Schedule is not null,
        _ => request.Stop is not null,
    };

    /// <summary>Either <c>degree</c> or <c>model</c>; a model's formula and params parse (errors name the position).</summary>
    public static Formula? ValidateModel(int? degree, ModelDto? model, ValidationErrors errors)
    {
        if (model is null)
        {
            ValidateDegree(degree, errors);
            return null;
        }
        if (degree is not null) errors.Add("degree", "does not apply with model: give either degree or model");
        if (model.Type is not (null or NetworkModels.Formula))
        {
            errors.Add("model.type", "must be formula here: the network models are fitted by POST /v1/fits");
            return null;
        }
        if (model.Units is not null) errors.Add("model.units", "does not apply to model type formula");
        if (model.Layers is not null) errors.Add("model.layers", "does not apply to model type formula");
        if (model.Activation is not null) errors.Add("model.activation", "does not apply to model type formula");
        try
        {
            return Formula.Parse(model.Formula, model.Params);
        }
        catch (FormulaException e)
        {
            errors.Add(model.Formula is null && e.Field == "formula" ? "model.formula" : "model." + e.Field, model.Formula is null && e.Field == "formula" ? "is required" : e.Message);
            return null;
        }
    }

    /// <summary>The formula of a validated spec, or null for a polynomial.</summary>
    public static Formula? FormulaOf(FitSpec spec) => spec.Model is { } m && !NetworkModels.IsNetwork(m) ? Formula.Parse(m.Formula, m.Params) : null;

    /// <summary>The engine's view of a validated descent fit; <paramref name="learningRate"/> replaces "auto"; <paramref name="weights"/> as stored with the points.</summary>
    public static FitProblem ToProblem(FitSpec spec, double[] x, double[] y, double? learningRate = null, double[]? weights = null)
    {
        var rate = learningRate ?? spec.LearningRate?.Rate ?? throw new InvalidOperationException("the learning rate is \"auto\": run the finder first");
        return new FitProblem(
            x, y, spec.Degree ?? 0,
            ToLossSpec(spec.Loss, spec.HuberDelta),
            rate,
            spec.Steps,
            spec.InitialParams,
            spec.Optimizer is null ? null : spec.Optimizer.Type == "adam"
                ? new AdamSpec(spec.Optimizer.Beta1!.Value, spec.Optimizer.Beta2!.Value, spec.Optimizer.Epsilon!.Value)
                : new SgdSpec(spec.Optimizer.Momentum!.Value, spec.Optimizer.Dampening!.Value, spec.Optimizer.Nesterov!.Value),
            spec.Schedule?.Type switch
            {
                "step" => new StepSchedule(spec.Schedule.Every!.Value, spec.Schedule.Gamma!.Value),
                "exponential" => new ExponentialSchedule(spec.Schedule.Gamma!.Value),
                "cosine" => new CosineSchedule(spec.Schedule.MinLearningRate!.Value),
                // With "auto" and no maxLearningRate, the cycle peaks at the chosen rate.
                "oneCycle" => new OneCycleSchedule(spec.Schedule.MaxLearningRate ?? rate, spec.Schedule.WarmupFraction!.Value),
                _ => new ConstantSchedule(),
            },
            spec.Stop is null ? null : new StopSpec(spec.Stop.LossBelow, spec.Stop.MinImprovement, spec.Stop.Patience ?? 10),
            spec.HistoryEvery,
            FormulaOf(spec),
            weights,
            NetworkModels.Of(spec),
            spec.Features ?? 1,
            spec.Standardize ?? false,
            spec.BatchSize,
            spec.Shuffle ?? false,
            (ulong)(spec.Seed ?? 0),
            spec.HistoryPerEpoch ?? false);
    }

    /// <summary>
    /// <c>weights</c>, when given: one per point, finite, ≥ 0, with a finite positive sum (the engine's rule), and not for a
    /// network model (its kernel computes the plain mean of a batch's losses; the engine refuses them there too).
    /// </summary>
    public static void ValidateWeights(double[]? weights, int? points, bool isNetwork, ValidationErrors errors)
    {
        if (weights is null) return;
        if (isNetwork)
        {
            errors.Add("weights", "apply to polynomial and formula models, not yet to networks");
            return;
        }
        errors.Check(found => FitProblemValidator.ValidateWeights(weights, points, found));
    }

    /// <summary>
    /// <c>x</c> as numbers, or as rows of equal length when <paramref name="rowsAllowed"/>, with <c>y</c> (as for a list of numbers):
    /// x's values row-major, or null with errors.
    /// </summary>
    public static double[]? ValidateX(XValues? x, double[]? y, LimitsOptions limits, ValidationErrors errors, bool rowsAllowed, string why = "a network model (model.type relu, mlp or linear)")
    {
        if (x is { AsRows: true })
        {
            if (!rowsAllowed)
            {
                errors.Add("x", $"is a list of rows (many features): that needs {why}; send x as a list of numbers");
                if (y is null) errors.Add("y", "is required");
                return null;
            }
            if (x.RaggedRow is { } row)
            {
                errors.Add("x", $"row {row} has {x.RaggedLength} value{(x.RaggedLength == 1 ? "" : "s")}; row 0 has {x.Features}: every row must have as many");
                return null;
            }
            if (x.Features == 0 && x.Count > 0) errors.Add("x", "rows must have at least 1 value");
            else if (x.Features > limits.MaxFeatures) errors.Add("x", $"rows have {x.Features} values; at most {limits.MaxFeatures} features (Limits:MaxFeatures) are allowed");
            else if (x.Values.Length > limits.MaxPoints && x.Count <= limits.MaxPoints)
                errors.Add("x", $"holds {x.Values.Length} values ({x.Count} rows of {x.Features}); at most {limits.MaxPoints} (Limits:MaxPoints) in all are allowed");
            if (Array.FindIndex(x.Values, v => !double.IsFinite(v)) is var bad and >= 0 && x.Features > 0)
                errors.Add("x", $"row {bad / x.Features}, value {bad % x.Features} is not finite");
            if (errors.Any) return null;
        }
        var count = x?.Count;
        ValidatePoints(x is null ? null : x.AsRows ? null : x.Values, count, y, limits, errors);
        return errors.Any ? null : x!.Values;
    }

    /// <summary><c>x</c> and <c>y</c>: present, 1 to <c>Limits:MaxPoints</c> finite numbers, as many of each.</summary>
    public static void ValidatePoints(double[]? x, double[]? y, LimitsOptions limits, ValidationErrors errors) =>
        ValidatePoints(x, x?.Length, y, limits, errors);

    /// <summary>The same for <paramref name="count"/> points, whose x values are checked elsewhere when <paramref name="x"/> is null.</summary>
    private static void ValidatePoints(double[]? x, int? count, double[]? y, LimitsOptions limits, ValidationErrors errors)
    {
        if (count is not { } n) errors.Add("x", "is required");
        else if (n == 0) errors.Add("x", "must have at least 1 point");
        else if (n > limits.MaxPoints) errors.Add("x", $"has {n} points; at most {limits.MaxPoints} (Limits:MaxPoints) are allowed");
        else if (x is not null) RequireFinite(x, "x", errors);
        if (y is null) errors.Add("y", "is required");
        else if (count is not null && y.Length != count) errors.Add("y", $"length {y.Length} differs from x ({count})");
        else RequireFinite(y, "y", errors);
    }

    public static void ValidateDegree(int? degree, ValidationErrors errors)
    {
        if (degree is null) errors.Add("degree", "is required");
        else errors.Check(found => FitProblemValidator.ValidateDegree(degree.Value, found));
    }

    /// <summary>A <c>label</c> of at most <c>Limits:MaxLabelLength</c> characters (fits, batches and finder runs).</summary>
    public static void ValidateLabel(string? label, LimitsOptions limits, ValidationErrors errors)
    {
        if (label is { Length: var length } && length > limits.MaxLabelLength)
            errors.Add("label", $"has {length} characters; at most {limits.MaxLabelLength} are allowed");
    }

    /// <summary>
    /// <c>loss</c> one of <see cref="Losses"/>; <c>huberDelta</c> only with huber, finite and &gt; 0; with bce every y (when given)
    /// in [0, 1], as BCEWithLogitsLoss takes them.
    /// </summary>
    public static void ValidateLoss(string? loss, double? huberDelta, ValidationErrors errors, double[]? y)
    {
        if (loss == "bce" && y is not null && Array.FindIndex(y, v => !(v >= 0 && v <= 1)) is var outside and >= 0 && double.IsFinite(y[outside]))
            errors.Add("y", $"value at index {outside} is {y[outside].ToString("R", System.Globalization.CultureInfo.InvariantCulture)}; loss bce needs every y in [0, 1] (a label or a probability)");
        if (loss is null) errors.Add("loss", "is required");
        else if (!Losses.Contains(loss)) errors.Add("loss", $"must be one of {string.Join(", ", Losses)}");
        if (huberDelta is { } delta)
        {
            if (loss is not null && loss != "huber") errors.Add("huberDelta", "applies only to loss huber");
            else errors.Check(found => FitProblemValidator.ValidateHuberDelta(delta, found));
        }
    }

    /// <summary>Params of a polynomial of <paramref name="degree"/> (already validated): degree+1 finite numbers.</summary>
    public static void ValidateParams(double[]? parameters, int? degree, string field, ValidationErrors errors) =>
        ValidateParams(parameters, Polynomial.ParameterCount(degree), "degree + 1", field, errors);

    /// <summary>Params of a model with <paramref name="count"/> of them (null when unknown): that many finite numbers.</summary>
    public static void ValidateParams(double[]? parameters, int? count, string what, string field, ValidationErrors errors)
    {
        if (parameters is null) return;
        if (count is { } n && parameters.Length != n)
            errors.Add(field, $"length {parameters.Length} differs from {what} ({n})");
        RequireFinite(parameters, field, errors);
    }

    public static LossSpec ToLossSpec(string loss, double? huberDelta) =>
        new(loss switch { "mse" => LossKind.Mse, "huber" => LossKind.Huber, "bce" => LossKind.Bce, _ => LossKind.Mae }, huberDelta ?? 1.0);

    public static OptimizerDto? ValidateOptimizer(OptimizerDto? o, ValidationErrors errors)
    {
        if (o is null) return new OptimizerDto { Type = "sgd", Momentum = 0, Dampening = 0, Nesterov = false };
        switch (o.Type)
        {
            case null:
                errors.Add("optimizer.type", $"is required: one of {string.Join(", ", Optimizers)}");
                return null;
            case "sgd":
                NotFor(o.Beta1, "optimizer.beta1", "sgd", errors);
                NotFor(o.Beta2, "optimizer.beta2", "sgd", errors);
                NotFor(o.Epsilon, "optimizer.epsilon", "sgd", errors);
                var momentum = o.Momentum ?? 0;
                var dampening = o.Dampening ?? 0;
                var nesterov = o.Nesterov ?? false;
                errors.Check(found => FitProblemValidator.ValidateOptimizer(new SgdSpec(momentum, dampening, nesterov), found));
                return new OptimizerDto { Type = "sgd", Momentum = momentum, Dampening = dampening, Nesterov = nesterov };
            case "adam":
                NotFor(o.Momentum, "optimizer.momentum", "adam", errors);
                NotFor(o.Dampening, "optimizer.dampening", "adam", errors);
                NotFor(o.Nesterov, "optimizer.nesterov", "adam", errors);
                var beta1 = o.Beta1 ?? 0.9;
                var beta2 = o.Beta2 ?? 0.999;
                var epsilon = o.Epsilon ?? 1e-8;
                errors.Check(found => FitProblemValidator.ValidateOptimizer(new AdamSpec(beta1, beta2, epsilon), found));
                return new OptimizerDto { Type = "adam", Beta1 = beta1, Beta2 = beta2, Epsilon = epsilon };
            default:
                errors.Add("optimizer.type", $"must be one of {string.Join(", ", Optimizers)}");
                return null;
        }
    }

    private static ScheduleDto? ValidateSchedule(ScheduleDto? s, double? rate, bool rateIsAuto, ValidationErrors errors)
    {
        if (s is null) return new ScheduleDto { Type = "constant" };
        var type = s.Type;
        if (type is null || !Schedules.Contains(type))
        {
            errors.Add("schedule.type", $"{(type is null ? "is required: " : "must be ")}one of {string.Join(", ", Schedules)}");
            return null;
        }
        NotFor(type == "step" ? null : s.Every, "schedule.every", type, errors);
        NotFor(type is "step" or "exponential" ? null : s.Gamma, "schedule.gamma", type, errors);
        NotFor(type == "cosine" ? null : s.MinLearningRate, "schedule.minLearningRate", type, errors);
        NotFor(type == "oneCycle" ? null : s.MaxLearningRate, "schedule.maxLearningRate", type, errors);
        NotFor(type == "oneCycle" ? null : s.WarmupFraction, "schedule.warmupFraction", type, errors);
        switch (type)
        {
            // A missing value is reported here as required; its stand-in (1) passes the engine's numeric rule.
            case "step":
                if (s.Every is null) errors.Add("schedule.every", "is required for step");
                errors.Check(found => FitProblemValidator.ValidateSchedule(new StepSchedule(s.Every ?? 1, s.Gamma ?? 1), found));
                if (s.Gamma is null) errors.Add("schedule.gamma", $"is required for {type}");
                return new ScheduleDto { Type = type, Every = s.Every, Gamma = s.Gamma };
            case "exponential":
                if (s.Gamma is null) errors.Add("schedule.gamma", $"is required for {type}");
                errors.Check(found => FitProblemValidator.ValidateSchedule(new ExponentialSchedule(s.Gamma ?? 1), found));
                return new ScheduleDto { Type = type, Gamma = s.Gamma };
            case "cosine":
                var min = s.MinLearningRate ?? 0;
                errors.Check(found => FitProblemValidator.ValidateSchedule(new CosineSchedule(min), found));
                return new ScheduleDto { Type = type, MinLearningRate = min };
            case "oneCycle":
                var warmup = s.WarmupFraction ?? 0.25;
                // With "auto" and no maxLearningRate the cycle peaks at the chosen rate: only the warm-up is checked now.
                var peaksAtChosenRate = rateIsAuto && s.MaxLearningRate is null;
                var max = peaksAtChosenRate ? 1 : s.MaxLearningRate ?? rate ?? 0;
                errors.Check(found => FitProblemValidator.ValidateSchedule(new OneCycleSchedule(max, warmup), found));
                return peaksAtChosenRate
                    ? new ScheduleDto { Type = type, WarmupFraction = warmup }
                    : new ScheduleDto { Type = type, MaxLearningRate = max, WarmupFraction = warmup };
            default:
                return new ScheduleDto { Type = type };
        }
    }

    private static StopDto? ValidateStop(StopDto? s, ValidationErrors errors)
    {
        if (s is null) return null;
        if (s.LossBelow is null && s.MinImprovement is null)
            errors.Add("stop", "needs lossBelow, or minImprovement with patience");
        // Patience without minImprovement is reported as not applying; its stand-in (10) passes the engine's rule.
        errors.Check(found => FitProblemValidator.ValidateStop(new StopSpec(s.LossBelow, s.MinImprovement, s.MinImprovement is null ? 10 : s.Patience ?? 10), found));
        if (s.Patience is not null && s.MinImprovement is null) errors.Add("stop.patience", "applies only with minImprovement");
        return new StopDto
        {
            LossBelow = s.LossBelow,
            MinImprovement = s.MinImprovement,
            Patience = s.MinImprovement is null ? null : s.Patience ?? 10,
        };
    }

    private static void NotFor<T>(T? value, string field, string type, ValidationErrors errors) where T : struct
    {
        if (value is not null) errors.Add(field, $"does not apply to {type}");
    }

    private static void RequireFinite(double[] values, string field, ValidationErrors errors) =>
        errors.Check(found => FitProblemValidator.CheckFinite(values, field, found));
}
