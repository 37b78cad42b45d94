using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace FitService.Cli.Commands;

/// <summary>The options that shape a fit, shared by <c>fit</c> and <c>batch</c>, and their mapping onto a <see cref="FitRequest"/>.
/// Options left out are left out of the request too, so the service applies its own defaults: degree 2, loss mse, the learning
/// rate its finder chooses, and up to 100,000 steps that stop once the loss no longer falls.</summary>
internal sealed class FitOptions
{
    private static readonly string[] Losses = ["mae", "mse", "huber", "bce"];
    private static readonly string[] Activations = ["relu", "tanh", "sigmoid"];
    private static readonly string[] Optimizers = ["sgd", "adam"];
    private static readonly string[] Schedules = ["constant", "step", "exponential", "cosine", "oneCycle"];
    private static readonly string[] Solvers = ["descent", "exact"];
    private const string Auto = "auto";

    public Option<int?> Degree { get; } = new("--degree", "-d") { Description = "Polynomial degree, 0–20 (or --formula) [2]" };
    public Option<string?> Formula { get; } = new("--formula") { Description = "A formula model instead of a polynomial, e.g. 'a*exp(b*x) + c' (with --params)" };
    public Option<string[]> Params { get; } = new("--params")
    {
        Description = "The formula's param names in order: 'a,b,c' or 'a b c'",
        AllowMultipleArgumentsPerToken = true,
        CustomParser = ParseNameList,
    };
    public Option<string?> Solver { get; } = new("--solver") { Description = "descent, or exact: the optimum computed directly (polynomials; descent options are ignored with a warning) [descent]" };
    public Option<string> Loss { get; } = new("--loss", "-l") { Description = "Loss: mae, mse, huber or bce (binary cross-entropy with logits, y in [0, 1]) [mse]" };
    public Option<string?> Model { get; } = new("--model", "-m")
    {
        Description = "A network instead of a polynomial: relu:K (the lesson's sum of K ReLUs), mlp (with --layers), linear (y = w·x + b over the --x columns)",
    };
    public Option<int[]> Layers { get; } = new("--layers")
    {
        Description = "mlp: the widths of the hidden layers, '16,16' or '16 16' (implies --model mlp)",
        AllowMultipleArgumentsPerToken = true,
        CustomParser = ParseIntList,
    };
    public Option<string?> Activation { get; } = new("--activation") { Description = "mlp: relu, tanh or sigmoid after each hidden layer [relu]" };
    public Option<bool> Standardize { get; } = new("--standardize") { Description = "Networks: standardize each x column (the means and scales are reported and predictions apply them)" };
    public Option<int?> Seed { get; } = new("--seed") { Description = "Networks: seed of the initial weights and of the shuffle [0]" };
    public Option<int?> BatchSize { get; } = new("--batch-size") { Description = "Networks: points per update (mini-batches) [all]" };
    public Option<bool> Shuffle { get; } = new("--shuffle") { Description = "Networks: a fresh order of the points every epoch, drawn from --seed" };
    public Option<int?> Epochs { get; } = new("--epochs") { Description = "Networks: passes over the points, instead of --steps" };
    public Option<bool> HistoryPerEpoch { get; } = new("--history-per-epoch") { Description = "Networks: one loss per epoch in the history" };
    public Option<string?> LearningRate { get; } = new("--lr", "--learning-rate") { Description = "Learning rate (> 0), or auto: the service's learning-rate finder picks it [auto]" };
    public Option<int?> Steps { get; } = new("--steps", "-n") { Description = "Number of parameter updates [100000, stopping once the loss no longer falls]" };
    public Option<double?> HuberDelta { get; } = new("--huber-delta") { Description = "δ of the huber loss [1.0]" };
    public Option<double[]> InitialParams { get; } = new("--initial-params", "-p")
    {
        Description = "Starting params, highest power first: '1.1,1.1,1.1' or '1.1 1.1 1.1' [zeros]",
        AllowMultipleArgumentsPerToken = true,
        CustomParser = ParseNumberList,
    };
    public Option<string?> Optimizer { get; } = new("--optimizer") { Description = "sgd or adam [sgd]" };
    public Option<double?> Momentum { get; } = new("--momentum") { Description = "SGD momentum [0]" };
    public Option<double?> Dampening { get; } = new("--dampening") { Description = "SGD dampening [0]" };
    public Option<bool> Nesterov { get; } = new("--nesterov") { Description = "SGD with Nesterov momentum" };
    public Option<double?> Beta1 { get; } = new("--beta1") { Description = "Adam β1 [0.9]" };
    public Option<double?> Beta2 { get; } = new("--beta2") { Description = "Adam β2 [0.999]" };
    public Option<double?> Epsilon { get; } = new("--epsilon") { Description = "Adam ε [1e-8]" };
    public Option<string?> Schedule { get; } = new("--schedule") { Description = "Learning-rate schedule: constant, step, exponential, cosine or oneCycle [constant]" };
    public Option<int?> Every { get; } = new("--every") { Description = "step schedule: multiply the rate by gamma every this many steps" };
    public Option<double?> Gamma { get; } = new("--gamma") { Description = "step and exponential schedules: the factor" };
    public Option<double?> MinLearningRate { get; } = new("--min-lr") { Description = "cosine schedule: the final rate [0]" };
    public Option<double?> MaxLearningRate { get; } = new("--max-lr") { Description = "oneCycle schedule: the peak rate" };
    public Option<double?> WarmupFraction { get; } = new("--warmup-fraction") { Description = "oneCycle schedule: share of the steps spent warming up" };
    public Option<double?> LossBelow { get; } = new("--loss-below") { Description = "Stop early once the loss is below this" };
    public Option<double?> MinImprovement { get; } = new("--min-improvement") { Description = "Stop early when the loss improves by less than this for --patience steps" };
    public Option<int?> Patience { get; } = new("--patience") { Description = "Steps without --min-improvement before stopping" };
    public Option<int?> HistoryEvery { get; } = new("--history-every") { Description = "Record the loss every k-th step only [1]" };
    public Option<string?> Webhook { get; } = new("--webhook") { Description = "URL the service POSTs to when the fit ends" };

    public FitOptions()
    {
        Loss.AcceptOnlyFromAmong(Losses);
        Solver.AcceptOnlyFromAmong(Solvers);
        LearningRate.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string?>() is { } text && text != Auto && ParseRate(text) is null)
                result.AddError($"--lr must be a number or auto, not '{text}'");
        });
        Optimizer.AcceptOnlyFromAmong(Optimizers);
        Activation.AcceptOnlyFromAmong(Activations);
        Schedule.CustomParser = result => Canonical(result, Schedules);
        Schedule.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string?>() is { } s && !Schedules.Contains(s))
                result.AddError($"--schedule must be one of {string.Join(", ", Schedules)}, not '{s}'");
        });
    }

    public IEnumerable<Option> All =>
    [
        Degree, Formula, Params, Solver, Loss, LearningRate, Steps, HuberDelta, InitialParams,
        Optimizer, Momentum, Dampening, Nesterov, Beta1, Beta2, Epsilon,
        Schedule, Every, Gamma, MinLearningRate, MaxLearningRate, WarmupFraction,
        LossBelow, MinImprovement, Patience, HistoryEvery, Webhook,
        Model, Layers, Activation, Standardize, Seed, BatchSize, Shuffle, Epochs, HistoryPerEpoch,
    ];

    public void AddTo(Command command)
    {
        foreach (var option in All)
            command.Options.Add(option);
    }

    /// <summary>The request these options describe, with the given points and label. Throws <see cref="UsageException"/>
    /// for options that contradict each other, such as <c>--beta1</c> with <c>--optimizer sgd</c>.</summary>
    public FitRequest ToRequest(ParseResult parseResult, XValues? x = null, double[]? y = null, string? label = null, double[]? weights = null)
    {
        var initialParams = parseResult.GetValue(InitialParams);
        return new FitRequest
        {
            X = x,
            Y = y,
            Weights = weights,
            Label = label,
            Degree = parseResult.GetValue(Degree),
            Model = ModelFrom(parseResult),
            Solver = parseResult.GetValue(Solver),
            Loss = parseResult.GetValue(Loss),
            LearningRate = parseResult.GetValue(LearningRate) is { } rate ? rate == Auto ? LearningRateValue.Auto : ParseRate(rate) is { } r ? new LearningRateValue(r) : null : null,
            Steps = parseResult.GetValue(Steps),
            HuberDelta = parseResult.GetValue(HuberDelta),
            InitialParams = initialParams is { Length: > 0 } ? initialParams : null,
            Optimizer = OptimizerFrom(parseResult),
            Schedule = ScheduleFrom(parseResult),
            Stop = StopFrom(parseResult),
            HistoryEvery = parseResult.GetValue(HistoryEvery),
            Webhook = parseResult.GetValue(Webhook) is { Length: > 0 } url ? new WebhookDto { Url = url } : null,
            Standardize = IsGiven(parseResult, Standardize) ? true : null,
            Seed = parseResult.GetValue(Seed),
            BatchSize = parseResult.GetValue(BatchSize),
            Shuffle = IsGiven(parseResult, Shuffle) ? true : null,
            Epochs = parseResult.GetValue(Epochs),
            HistoryPerEpoch = IsGiven(parseResult, HistoryPerEpoch) ? true : null,
        };
    }

    /// <summary>The model: a degree, a formula with its params, or a network (<c>--model relu:8</c>, <c>--layers 16,16</c>, <c>--model linear</c>).</summary>
    private ModelDto? ModelFrom(ParseResult p)
    {
        var formula = p.GetValue(Formula);
        var names = p.GetValue(Params) ?? [];
        var network = NetworkFrom(p);
        if (network is not null && (IsGiven(p, Degree) || formula is not null))
            throw new UsageException($"give one model: --model {network.Type} does not go with {(formula is null ? "--degree" : "--formula")}");
        if (network is not null) return network;
        if (IsGiven(p, Degree) && formula is not null)
            throw new UsageException("give either --degree or --formula (with --params)");
        if (formula is null && names.Length > 0)
            throw new UsageException("--params applies to --formula");
        if (formula is not null && names.Length == 0)
            throw new UsageException("--formula needs --params, the param names in order (e.g. --params a,b,c)");
        return formula is null ? null : new ModelDto { Formula = formula, Params = names };
    }

    /// <summary><c>relu:K</c>, <c>mlp</c> (or <c>mlp:16,16</c>, or just <c>--layers</c>) or <c>linear</c>; null when none is asked for.</summary>
    private ModelDto? NetworkFrom(ParseResult p)
    {
        var text = p.GetValue(Model)?.Trim();
        var layers = p.GetValue(Layers) ?? [];
        var activation = p.GetValue(Activation);
        if (text is null && layers.Length == 0)
        {
            if (activation is not null) throw new UsageException("--activation applies to an mlp (--layers 16,16)");
            return null;
        }
        var (type, argument) = text is null ? ("mlp", null) : text.IndexOf(':') is var colon and >= 0
            ? (text[..colon].Trim().ToLowerInvariant(), text[(colon + 1)..].Trim())
            : (text.ToLowerInvariant(), null);
        switch (type)
        {
            case "relu":
                if (layers.Length > 0 || activation is not null) throw new UsageException("--layers and --activation apply to --model mlp; relu:K is K ReLUs");
                if (!int.TryParse(argument, NumberStyles.None, CultureInfo.InvariantCulture, out var units) || units < 1)
                    throw new UsageException($"--model relu needs its number of ReLUs, e.g. relu:8{(argument is null ? "" : $", not '{argument}'")}");
                return new ModelDto { Type = "relu", Units = units };
            case "mlp":
                if (argument is { Length: > 0 })
                {
                    if (layers.Length > 0) throw new UsageException("give the layers once: --model mlp:16,16 or --layers 16,16");
                    var parts = argument.Split(',', StringSplitOptions.TrimEntries);
                    layers = new int[parts.Length];
                    for (var i = 0; i < parts.Length; i++)
                        if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out layers[i]))
                            throw new UsageException($"--model mlp:{argument}: the layers are whole numbers, e.g. mlp:16,16");
                }
                if (layers.Length == 0) throw new UsageException("--model mlp needs its hidden layers: --layers 16,16");
                return new ModelDto { Type = "mlp", Layers = layers, Activation = activation };
            case "linear":
                if (argument is not null || layers.Length > 0 || activation is not null) throw new UsageException("--model linear takes no units, layers or activation");
                return new ModelDto { Type = "linear" };
            default:
                throw new UsageException($"--model must be relu:K, mlp or linear, not '{text}'");
        }
    }

    private OptimizerDto? OptimizerFrom(ParseResult p)
    {
        var sgdSet = Given(p, Momentum, Dampening, Nesterov);
        var adamSet = Given(p, Beta1, Beta2, Epsilon);
        var type = p.GetValue(Optimizer) ?? (adamSet.Count > 0 ? "adam" : sgdSet.Count > 0 ? "sgd" : null);
        switch (type)
        {
            case null:
                return null;
            case "sgd" when adamSet.Count > 0:
                throw new UsageException($"{Names(adamSet)} to --optimizer adam, not sgd");
            case "adam" when sgdSet.Count > 0:
                throw new UsageException($"{Names(sgdSet)} to --optimizer sgd, not adam");
            case "sgd":
                return new OptimizerDto
                {
                    Type = "sgd",
                    Momentum = p.GetValue(Momentum),
                    Dampening = p.GetValue(Dampening),
                    Nesterov = IsGiven(p, Nesterov) ? p.GetValue(Nesterov) : null,
                };
            default:
                return new OptimizerDto { Type = "adam", Beta1 = p.GetValue(Beta1), Beta2 = p.GetValue(Beta2), Epsilon = p.GetValue(Epsilon) };
        }
    }

    private ScheduleDto? ScheduleFrom(ParseResult p)
    {
        var type = p.GetValue(Schedule);
        (Option Option, string[] Schedules)[] owners =
        [
            (Every, ["step"]), (Gamma, ["step", "exponential"]), (MinLearningRate, ["cosine"]),
            (MaxLearningRate, ["oneCycle"]), (WarmupFraction, ["oneCycle"]),
        ];
        foreach (var (option, schedules) in owners)
        {
            if (IsGiven(p, option) && (type is null || !schedules.Contains(type)))
                throw new UsageException($"{option.Name} applies to --schedule {string.Join(" or ", schedules)}");
        }
        return type is null ? null : new ScheduleDto
        {
            Type = type,
            Every = p.GetValue(Every),
            Gamma = p.GetValue(Gamma),
            MinLearningRate = p.GetValue(MinLearningRate),
            MaxLearningRate = p.GetValue(MaxLearningRate),
            WarmupFraction = p.GetValue(WarmupFraction),
        };
    }

    private StopDto? StopFrom(ParseResult p)
    {
        if (Given(p, LossBelow, MinImprovement, Patience).Count == 0)
            return null;
        if (IsGiven(p, Patience) && !IsGiven(p, MinImprovement))
            throw new UsageException("--patience needs --min-improvement");
        return new StopDto { LossBelow = p.GetValue(LossBelow), MinImprovement = p.GetValue(MinImprovement), Patience = p.GetValue(Patience) };
    }

    private static string Names(List<string> options) => string.Join(", ", options) + (options.Count == 1 ? " applies" : " apply");

    private static List<string> Given(ParseResult p, params Option[] options) =>
        options.Where(o => IsGiven(p, o)).Select(o => o.Name).ToList();

    /// <summary>On the command line, as opposed to an implicit default (flags always have a result).</summary>
    private static bool IsGiven(ParseResult p, Option option) => p.GetResult(option) is { Implicit: false };

    /// <summary>Accepts the schedule names in any case and with dashes ("one-cycle"), and returns the API's spelling.</summary>
    private static string? Canonical(ArgumentResult result, string[] names)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : null;
        if (text is null)
            return null;
        var key = text.Replace("-", "").Replace("_", "");
        return names.FirstOrDefault(n => string.Equals(n, key, StringComparison.OrdinalIgnoreCase)) ?? text;
    }

    private static double? ParseRate(string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var rate) && double.IsFinite(rate) ? rate : null;

    /// <summary>Names separated by commas and/or given as several tokens.</summary>
    internal static string[] ParseNameList(ArgumentResult result) =>
        [.. result.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))];

    /// <summary>Whole numbers separated by commas and/or given as several tokens.</summary>
    internal static int[] ParseIntList(ArgumentResult result)
    {
        var values = new List<int>();
        foreach (var part in result.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            if (!int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
            {
                result.AddError($"'{part}' is not a whole number");
                return [];
            }
            values.Add(value);
        }
        return [.. values];
    }

    /// <summary>Numbers separated by commas and/or given as several tokens, in the invariant culture.</summary>
    internal static double[] ParseNumberList(ArgumentResult result)
    {
        var values = new List<double>();
        foreach (var token in result.Tokens)
        {
            foreach (var part in token.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value))
                    values.Add(value);
                else
                {
                    result.AddError($"'{part}' is not a finite number");
                    return [];
                }
            }
        }
        return [.. values];
    }
}
