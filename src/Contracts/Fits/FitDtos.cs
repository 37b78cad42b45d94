using System.Text.Json.Serialization;

namespace FitService.Contracts;

/// <summary>
/// A request to fit a polynomial (or a formula model, or a small neural network) to points by gradient descent, or to compute its exact optimum.
/// Only <c>x</c> and <c>y</c> are required: the defaults fit a quadratic by least squares (<c>degree</c> 2, <c>loss</c> mse) at the
/// rate the learning-rate finder chooses (<c>learningRate</c> "auto"), for up to 100,000 steps, stopping once 100 steps in a row
/// bring no lower loss.
/// </summary>
public sealed class FitRequest
{
    /// <summary>
    /// The x values of the points: 1 to <c>Limits:MaxPoints</c> finite numbers, or (for the network models <c>relu</c>, <c>mlp</c> and
    /// <c>linear</c>) as many rows of 1 to <c>Limits:MaxFeatures</c> finite numbers each, all rows of one length: <c>[[22, 7.25], [38, 71.3]]</c>.
    /// </summary>
    public XValues? X { get; init; }

    /// <summary>The y values of the points; as many as <c>x</c>, all finite (with <c>loss: bce</c>, each in [0, 1]).</summary>
    public double[]? Y { get; init; }

    /// <summary>
    /// Optional per-point weights: as many as <c>x</c>, finite, ≥ 0, not all 0. Every loss becomes the weighted mean Σwᵢℓ(rᵢ)/Σwᵢ
    /// (as PyTorch's <c>(w * loss).sum() / w.sum()</c>), in the descent, its loss and history, and the statistics (statsmodels WLS).
    /// A weight of 0 leaves its point out; a weight of 2 counts it twice.
    /// </summary>
    public double[]? Weights { get; init; }

    /// <summary>Polynomial degree d, 0–20; default 2. The model is p[0]·x^d + p[1]·x^(d−1) + … + p[d]. Give either this or <c>model</c>.</summary>
    public int? Degree { get; init; }

    /// <summary>
    /// A model instead of the polynomial: a formula (<c>{"formula": "a*exp(b*x) + c", "params": ["a", "b", "c"]}</c>), the lesson's
    /// sum of ReLUs (<c>{"type": "relu", "units": 8}</c>), a network of dense layers (<c>{"type": "mlp", "layers": [16, 16], "activation": "tanh"}</c>)
    /// or a linear model of many features (<c>{"type": "linear"}</c>). See docs/models.md.
    /// </summary>
    public ModelDto? Model { get; init; }

    /// <summary><c>descent</c> (default): gradient descent; <c>exact</c>: the optimum computed directly (polynomials only; learningRate, steps, optimizer, schedule, stop, historyEvery and initialParams are ignored, each with an entry in the fit's <c>warnings</c>).</summary>
    public string? Solver { get; init; }

    /// <summary>
    /// <c>mse</c> (mean squared error, the default), <c>mae</c> (mean absolute error), <c>huber</c> (as torch.nn.functional.huber_loss)
    /// or <c>bce</c> (binary cross-entropy with logits, as torch.nn.BCEWithLogitsLoss: the model's output is the logit, every y is in [0, 1], and predictions add probabilities).
    /// </summary>
    public string? Loss { get; init; }

    /// <summary>δ of the Huber loss; &gt; 0; default 1.0. Only with <c>loss: huber</c>.</summary>
    public double? HuberDelta { get; init; }

    /// <summary>Step size of the descent, finite and &gt; 0; or <c>"auto"</c> (the default): the learning-rate finder runs first and the fit uses its suggestion (see <c>learningRateChosen</c>).</summary>
    public LearningRateValue? LearningRate { get; init; }

    /// <summary>
    /// Number of parameter updates (at most: a stop rule may end sooner); 1 to <c>Limits:MaxSteps</c>. Default 100,000 (fewer when
    /// that would exceed <c>Limits:MaxSteps</c> or <c>Limits:MaxWork</c>), and then, unless <c>stop</c> is given, the fit stops once
    /// 100 steps in a row bring no lower loss (<c>stop: {"minImprovement": 0, "patience": 100}</c>).
    /// </summary>
    public int? Steps { get; init; }

    /// <summary>
    /// Starting parameters, highest power first (as numpy.polyfit); length degree+1; default all zeros. For a formula: one per param, in its
    /// order; default all ones. For a network model: every weight, in the order PyTorch's <c>state_dict</c> flattens an <c>nn.Sequential</c>
    /// of its layers (each layer's weight row by row, then its bias); default PyTorch's own initialization of <c>nn.Linear</c> drawn from <c>seed</c>.
    /// </summary>
    public double[]? InitialParams { get; init; }

    /// <summary>Network models: standardize each feature of x to mean 0 and standard deviation 1 before fitting (the means and scales are reported, and predictions apply them); default false.</summary>
    public bool? Standardize { get; init; }

    /// <summary>Network models: the seed of the initial weights (when <c>initialParams</c> is not given) and of the shuffling of mini-batches; ≥ 0; default 0.</summary>
    public int? Seed { get; init; }

    /// <summary>Network models: points per update (mini-batch); 1 to the number of points; default all of them (full batch).</summary>
    public int? BatchSize { get; init; }

    /// <summary>Network models with <c>batchSize</c>: draw a fresh order of the points each epoch (from <c>seed</c>); default false (the points in order).</summary>
    public bool? Shuffle { get; init; }

    /// <summary>Network models: passes over the points; the fit then takes epochs × ⌈points / batchSize⌉ steps. Give either this or <c>steps</c>.</summary>
    public int? Epochs { get; init; }

    /// <summary>
    /// Network models: record one loss per epoch (the mean of its batches' losses, weighted by their sizes) instead of one per step;
    /// default false. <c>historyEvery</c> then counts epochs.
    /// </summary>
    public bool? HistoryPerEpoch { get; init; }

    /// <summary>The optimizer; default plain SGD (momentum 0).</summary>
    public OptimizerDto? Optimizer { get; init; }

    /// <summary>The learning-rate schedule over the steps; default constant.</summary>
    public ScheduleDto? Schedule { get; init; }

    /// <summary>Optional early stop rules; when neither this nor <c>steps</c> is given, <c>{"minImprovement": 0, "patience": 100}</c>.</summary>
    public StopDto? Stop { get; init; }

    /// <summary>Record the loss of every k-th step only (for very long runs); ≥ 1; default 1.</summary>
    public int? HistoryEvery { get; init; }

    /// <summary>Called when the fit ends.</summary>
    public WebhookDto? Webhook { get; init; }

    /// <summary>Free text for the client, at most 200 characters.</summary>
    public string? Label { get; init; }
}

/// <summary>
/// An optimizer with exactly PyTorch's update rule: <c>{"type":"sgd","momentum","dampening","nesterov"}</c>
/// (torch.optim.SGD) or <c>{"type":"adam","beta1","beta2","epsilon"}</c> (torch.optim.Adam). Weight decay is 0.
/// </summary>
public sealed class OptimizerDto
{
    /// <summary><c>sgd</c> or <c>adam</c>.</summary>
    public string? Type { get; init; }

    /// <summary>SGD momentum factor, ≥ 0; default 0.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Momentum { get; init; }

    /// <summary>SGD dampening for momentum, ≥ 0; default 0.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Dampening { get; init; }

    /// <summary>SGD Nesterov momentum (needs momentum &gt; 0 and dampening 0); default false.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? Nesterov { get; init; }

    /// <summary>Adam decay rate of the first moment, in [0, 1); default 0.9.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Beta1 { get; init; }

    /// <summary>Adam decay rate of the second moment, in [0, 1); default 0.999.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Beta2 { get; init; }

    /// <summary>Adam term added to the denominator, ≥ 0; default 1e-8.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Epsilon { get; init; }
}

/// <summary>
/// A learning-rate schedule: <c>constant</c>; <c>step</c> (rate × gamma every <c>every</c> steps); <c>exponential</c>
/// (rate × gamma each step); <c>cosine</c> (cosine annealing to <c>minLearningRate</c>); <c>oneCycle</c> (fastai's
/// fit_one_cycle: warm-up to <c>maxLearningRate</c> over <c>warmupFraction</c> of the steps, then cosine annealing).
/// </summary>
public sealed class ScheduleDto
{
    /// <summary><c>constant</c>, <c>step</c>, <c>exponential</c>, <c>cosine</c> or <c>oneCycle</c>.</summary>
    public string? Type { get; init; }

    /// <summary><c>step</c>: steps between decays, ≥ 1.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Every { get; init; }

    /// <summary><c>step</c>, <c>exponential</c>: decay factor, &gt; 0.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Gamma { get; init; }

    /// <summary><c>cosine</c>: the rate at the last step, ≥ 0; default 0.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? MinLearningRate { get; init; }

    /// <summary><c>oneCycle</c>: the peak rate, &gt; 0; default the fit's <c>learningRate</c>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? MaxLearningRate { get; init; }

    /// <summary><c>oneCycle</c>: fraction of the steps spent warming up, in (0, 1); default 0.25.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? WarmupFraction { get; init; }
}

/// <summary>Early stop: when the loss falls below <c>lossBelow</c>, or has not improved by <c>minImprovement</c> for <c>patience</c> steps.</summary>
public sealed class StopDto
{
    /// <summary>Stop once the loss is below this value.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? LossBelow { get; init; }

    /// <summary>Smallest improvement of the best loss that counts, ≥ 0.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? MinImprovement { get; init; }

    /// <summary>Steps without such an improvement before stopping, ≥ 1; default 10.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Patience { get; init; }
}

/// <summary>
/// A model other than the polynomial, told apart by <c>type</c> (as <c>optimizer</c> and <c>schedule</c> are).
/// <c>formula</c> (the default when <c>formula</c> is given): <c>formula</c> over <c>x</c>, <c>pi</c>, numbers and the named <c>params</c>,
/// with + - * / ^, unary minus, parentheses and exp, log, sin, cos, tanh, sqrt, abs; at most 500 characters and 32 levels of nesting;
/// parsed, never executed. <c>relu</c>: the lesson's sum of <c>units</c> ReLUs, y = Σⱼ vⱼ·max(0, aⱼ·x + bⱼ) + c.
/// <c>mlp</c>: dense hidden <c>layers</c> of the given widths, each followed by <c>activation</c>, then a linear output.
/// <c>linear</c>: y = w·x + b over every feature of x. The network models' params are PyTorch's <c>state_dict</c> of
/// <c>nn.Sequential(nn.Linear, activation, …, nn.Linear)</c>, flattened (see docs/models.md).
/// </summary>
public sealed class ModelDto
{
    /// <summary><c>formula</c>, <c>relu</c>, <c>mlp</c> or <c>linear</c>; default <c>formula</c>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Type { get; init; }

    /// <summary><c>formula</c>: the formula, e.g. <c>a*exp(b*x) + c</c>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Formula { get; init; }

    /// <summary><c>formula</c>: the param names in the order of <c>initialParams</c> and <c>params</c>, e.g. <c>["a", "b", "c"]</c>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string[]? Params { get; init; }

    /// <summary><c>relu</c>: the number of ReLUs, 1 to <c>Limits:MaxUnits</c>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Units { get; init; }

    /// <summary><c>mlp</c>: the widths of the hidden layers, 1 to <c>Limits:MaxLayers</c> of them, each 1 to <c>Limits:MaxUnits</c>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int[]? Layers { get; init; }

    /// <summary><c>mlp</c>: the activation after each hidden layer: <c>relu</c> (default), <c>tanh</c> or <c>sigmoid</c>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Activation { get; init; }
}

/// <summary>Where to POST the signed event when the fit ends.</summary>
public sealed class WebhookDto
{
    /// <summary>Absolute http(s) URL of the receiver.</summary>
    public string? Url { get; init; }
}

/// <summary>
/// The request as the service understood it: every default filled in, the points counted rather than repeated.
/// </summary>
public sealed record FitSpec
{
    /// <summary>The polynomial's degree; absent for a formula model.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Degree { get; init; }
    /// <summary>The formula model; absent for a polynomial.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ModelDto? Model { get; init; }
    /// <summary><c>descent</c> or <c>exact</c>.</summary>
    public string Solver { get; init; } = FitSolvers.Descent;
    public required string Loss { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? HuberDelta { get; init; }
    /// <summary>The rate, or <c>"auto"</c>; absent for the exact solver.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public LearningRateValue? LearningRate { get; init; }
    /// <summary>Updates asked for; 0 for the exact solver.</summary>
    public required int Steps { get; init; }
    /// <summary>Number of points.</summary>
    public required int Points { get; init; }
    /// <summary>True when the request gave <c>weights</c> (stored with the points): every loss is the weighted mean.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? Weighted { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double[]? InitialParams { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public OptimizerDto? Optimizer { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ScheduleDto? Schedule { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public StopDto? Stop { get; init; }
    public required int HistoryEvery { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public WebhookDto? Webhook { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Label { get; init; }
    /// <summary>
    /// Set when the request left <c>learningRate</c> and <c>initialParams</c> to their defaults (a polynomial by descent): the
    /// descent runs on x' = (x − center) / halfRange, where the powers of x are far better conditioned, and the params, the loss
    /// and the statistics are reported for x itself. The history is the loss, the same in either basis.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public XScaling? ScaleX { get; init; }
    /// <summary>Network models: values of x a point (1 for a list of numbers).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Features { get; init; }
    /// <summary>Network models: whether x was standardized.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? Standardize { get; init; }
    /// <summary>Network models: the seed of the initial weights and of the shuffling.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Seed { get; init; }
    /// <summary>Network models: points per update.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? BatchSize { get; init; }
    /// <summary>Network models: whether the points are shuffled each epoch.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? Shuffle { get; init; }
    /// <summary>Network models: passes over the points, when the request gave epochs rather than steps.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Epochs { get; init; }
    /// <summary>Network models: whether the history holds one loss per epoch.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? HistoryPerEpoch { get; init; }
    /// <summary>Stored with the spec and shown as the fit's <c>warnings</c>, never inside <c>request</c>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string[]? Warnings { get; init; }
}

/// <summary>The standardization of x a network fit ran on: feature j enters the model as (x[j] − means[j]) / scales[j].</summary>
/// <param name="Means">The mean of each feature over the fit's points.</param>
/// <param name="Scales">The standard deviation of each feature (population, ÷ n; 1 where a feature is constant).</param>
public sealed record StandardizationDto(double[] Means, double[] Scales);

/// <summary>One tensor of a network's params, as PyTorch's <c>state_dict</c> names it.</summary>
/// <param name="Name">The <c>state_dict</c> key of <c>nn.Sequential</c>: <c>0.weight</c>, <c>0.bias</c>, <c>2.weight</c>, …</param>
/// <param name="Shape">[out, in] for a weight, [out] for a bias.</param>
/// <param name="Values">The values, row by row (a slice of <c>params</c>).</param>
public sealed record LayerParamsDto(string Name, int[] Shape, double[] Values);

/// <summary>The affine change x' = (x − center) / halfRange a defaulted descent runs in.</summary>
/// <param name="Center">The middle of the x range, (min + max) / 2.</param>
/// <param name="HalfRange">Half the x range, (max − min) / 2 (&gt; 0).</param>
public sealed record XScaling(double Center, double HalfRange);

/// <summary>A fit: its state, its progress while running, and its result once ended.</summary>
public sealed record FitResource
{
    /// <summary>The fit's id.</summary>
    public required string Id { get; init; }

    /// <summary><c>queued</c> → <c>running</c> → <c>succeeded</c>, <c>failed</c> or <c>cancelled</c>.</summary>
    public required string Status { get; init; }

    /// <summary>
    /// Once ended: <c>steps</c> (all done), <c>converged</c> (a stop rule fired), <c>diverged</c> (non-finite loss or params;
    /// status failed), <c>cancelled</c>; <c>exact</c> (<c>solver: "exact"</c>: the optimum is the result);
    /// <c>solverFailed</c> (<c>solver: "exact"</c> could not verify an optimum; status failed, <c>error</c> and
    /// <c>optimumError</c> say why); <c>error</c> (the service could not run the fit, or <c>learningRate: "auto"</c> found no rate;
    /// status failed, <c>error</c> says why).
    /// </summary>
    public string? StopReason { get; init; }

    /// <summary>Updates done so far.</summary>
    public int Step { get; init; }

    /// <summary>Updates asked for.</summary>
    public int Steps { get; init; }

    /// <summary>Current parameters, highest power first; null before the first progress.</summary>
    public double[]? Params { get; init; }

    /// <summary>Network models: <c>params</c> cut into the tensors of PyTorch's <c>state_dict</c>, in its order; absent for other models and before the first progress.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public LayerParamsDto[]? ParamsByLayer { get; init; }

    /// <summary>With <c>standardize: true</c>: the means and scales x was standardized with (predictions apply them); absent otherwise.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public StandardizationDto? Standardization { get; init; }

    /// <summary>Loss at <c>params</c> (once ended: after the last update); null when not finite or not known yet.</summary>
    public double? Loss { get; init; }

    /// <summary>
    /// Loss before update i·historyEvery, for each recorded i (omitted in lists). Non-finite values are null. At most
    /// <c>Limits:MaxInlineHistory</c> entries (default 1,000): a longer history is cut to its first entries, and
    /// <c>historyTruncated</c>, <c>historyTotal</c> and <c>historyNext</c> say so and where the rest is.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double?[]? History { get; init; }

    /// <summary>How many history entries are recorded; present whenever <c>history</c> is.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? HistoryTotal { get; init; }

    /// <summary>True when <c>history</c> holds only the first <c>Limits:MaxInlineHistory</c> of <c>historyTotal</c> entries; present whenever <c>history</c> is.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? HistoryTruncated { get; init; }

    /// <summary>When <c>historyTruncated</c>: the page of the history right after the inline entries (<c>/v1/fits/{id}/history?offset=N</c>); otherwise absent.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? HistoryNext { get; init; }

    /// <summary>History records every k-th step.</summary>
    public int HistoryEvery { get; init; }

    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>Why the fit failed, with advice (e.g. a smaller learning rate).</summary>
    public string? Error { get; init; }

    /// <summary>The client's label.</summary>
    public string? Label { get; init; }

    /// <summary>The request as understood, defaults filled in, points counted.</summary>
    public required FitSpec Request { get; init; }

    /// <summary>What the service ignored or changed in the request, e.g. fields that do not apply to solver exact; omitted when none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string[]? Warnings { get; init; }

    /// <summary>The best possible fit for this loss, computed exactly by the worker after the descent; null until then (see <c>optimumStatus</c>), for formula models and for cancelled fits.</summary>
    public OptimumDto? Optimum { get; init; }

    /// <summary>
    /// Where the optimum stands: <c>pending</c> (the fit is queued or running, or it has ended and the worker is computing the
    /// optimum: the fit's own result, waits and webhooks never wait for it; read the fit again), <c>ready</c> (<c>optimum</c>
    /// and <c>gap</c> are set), <c>failed</c> (<c>optimumError</c> says why), <c>notApplicable</c> (formula models, cancelled
    /// fits, fits the service could not run).
    /// </summary>
    public string OptimumStatus { get; init; } = "notApplicable";

    /// <summary><c>loss − optimum.loss</c>: how far the descent is from the best possible fit (≥ 0 up to rounding); null when either is unknown.</summary>
    public double? Gap { get; init; }

    /// <summary>Why the optimum could not be computed (e.g. fewer distinct x values than params).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? OptimumError { get; init; }

    /// <summary>With <c>learningRate: "auto"</c>: the rate the learning-rate finder chose (the smaller of its two suggestions).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? LearningRateChosen { get; init; }

    /// <summary>With <c>learningRate: "auto"</c>: both suggestions of the finder.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public LearningRateSuggestions? LearningRateSuggestions { get; init; }

    /// <summary>
    /// Once succeeded: R², RMSE, MAE, residual quantiles, log-likelihood, AIC and BIC at the fit's params, and for a polynomial with
    /// loss mse the least-squares standard errors, t-values and 95 % confidence intervals as statsmodels OLS reports them.
    /// Null until then and for fits stored before statistics existed.
    /// </summary>
    public FitStatistics? Statistics { get; init; }
}

/// <summary>The exact optimum of a polynomial fit.</summary>
/// <param name="Params">The optimum params, highest power first.</param>
/// <param name="Loss">The loss at them, computed as the fit's loss is.</param>
/// <param name="ConditionNumber">Condition number of the Vandermonde matrix of x (what descent on these params faces: the MSE Hessian is (2/N)·VᵀV); null when not finite.</param>
/// <param name="ScaledConditionNumber">The same with x centred and scaled to [−1, 1] and unit columns (the basis the solver works in); null when not finite.</param>
/// <param name="Method">How it was computed, and to what tolerance.</param>
/// <param name="Warning">Set when the condition number exceeds 1e12 (with the scaling of x that fixes it), when the problem is
/// rank-deficient (the answer is then one optimum of many, as the warning says), or when the params, written in powers of x
/// far from 0, cannot carry the optimum's digits (<c>loss</c> is then the optimum's own value; see docs/beyond.md).</param>
public sealed record OptimumDto(double[] Params, double? Loss, double? ConditionNumber, double? ScaledConditionNumber, string Method, string? Warning)
{
    /// <summary>Iterations of the solver: simplex steps for <c>mae</c>, Newton steps for <c>huber</c>; absent for <c>mse</c> (a direct solve).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Iterations { get; init; }

    /// <summary>Norm of the mean loss's gradient at the optimum, in the solver's scaled basis, for <c>mse</c> and <c>huber</c>; absent for <c>mae</c> (certified by its multipliers instead), and when not finite (weights near the largest double).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? GradientNorm { get; init; }
}

/// <summary>The learning-rate finder's two suggestions (as fastai's lr_find).</summary>
/// <param name="Steep">The rate where the smoothed loss falls fastest against log(rate).</param>
/// <param name="Minimum">The rate of the lowest smoothed loss, divided by 10.</param>
public sealed record LearningRateSuggestions(double? Steep, double? Minimum);

/// <summary>A page of fits, newest first.</summary>
/// <param name="Items">The fits, without history.</param>
/// <param name="Next">Cursor of the next page; null on the last page.</param>
public sealed record FitList(IReadOnlyList<FitResource> Items, string? Next);

/// <summary>One recorded loss.</summary>
/// <param name="Step">The update it was measured before.</param>
/// <param name="Loss">The loss; null when not finite.</param>
public sealed record HistoryEntry(int Step, double? Loss);

/// <summary>A page of a fit's loss history.</summary>
public sealed record HistoryPage(int Offset, int Limit, int Total, int HistoryEvery, IReadOnlyList<HistoryEntry> Items);
