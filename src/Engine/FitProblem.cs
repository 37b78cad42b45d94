namespace FitService.Engine;

/// <summary>The loss the descent minimises.</summary>
public enum LossKind
{
    /// <summary>Mean absolute error, mean of |f(x) − y|.</summary>
    Mae,
    /// <summary>Mean squared error, mean of (f(x) − y)².</summary>
    Mse,
    /// <summary>Mean Huber loss with threshold δ, as <c>torch.nn.functional.huber_loss</c>.</summary>
    Huber,
    /// <summary>
    /// Mean binary cross-entropy of the model's output taken as a logit z against targets y in [0, 1], as
    /// <c>torch.nn.functional.binary_cross_entropy_with_logits</c>: max(z, 0) − z·y + log1p(e^−|z|); σ(z) is the probability.
    /// </summary>
    Bce,
}

/// <summary>A loss and its parameter.</summary>
/// <param name="Kind">Which loss.</param>
/// <param name="HuberDelta">δ of the Huber loss (ignored by the others); must be &gt; 0.</param>
public sealed record LossSpec(LossKind Kind, double HuberDelta = 1.0);

/// <summary>An optimizer with exactly PyTorch's update rule (weight decay 0).</summary>
public abstract record OptimizerSpec;

/// <summary><c>torch.optim.SGD</c>: momentum, dampening, Nesterov.</summary>
public sealed record SgdSpec(double Momentum = 0.0, double Dampening = 0.0, bool Nesterov = false) : OptimizerSpec;

/// <summary><c>torch.optim.Adam</c> with bias correction (amsgrad off).</summary>
public sealed record AdamSpec(double Beta1 = 0.9, double Beta2 = 0.999, double Epsilon = 1e-8) : OptimizerSpec;

/// <summary>A learning-rate schedule over the steps; the base rate is <see cref="FitProblem.LearningRate"/>.</summary>
public abstract record ScheduleSpec;

/// <summary>The same rate at every step.</summary>
public sealed record ConstantSchedule : ScheduleSpec;

/// <summary>Rate × gamma^(step / every), as <c>torch.optim.lr_scheduler.StepLR</c>.</summary>
public sealed record StepSchedule(int Every, double Gamma) : ScheduleSpec;

/// <summary>Rate × gamma^step, as <c>torch.optim.lr_scheduler.ExponentialLR</c>.</summary>
public sealed record ExponentialSchedule(double Gamma) : ScheduleSpec;

/// <summary>Cosine annealing from the rate to <paramref name="MinLearningRate"/> over all steps, as <c>CosineAnnealingLR</c> with T_max = steps.</summary>
public sealed record CosineSchedule(double MinLearningRate = 0.0) : ScheduleSpec;

/// <summary>fastai's <c>fit_one_cycle</c>: cosine warm-up from max/div to max over the first <paramref name="WarmupFraction"/> of the steps, then cosine down to max/divFinal.</summary>
public sealed record OneCycleSchedule(double MaxLearningRate, double WarmupFraction = 0.25, double Div = 25.0, double DivFinal = 1e5) : ScheduleSpec;

/// <summary>Early-stop rules; either, both or none may be set.</summary>
/// <param name="LossBelow">Stop once the loss is below this value.</param>
/// <param name="MinImprovement">Stop when the best loss has not improved by at least this much for <paramref name="Patience"/> steps.</param>
/// <param name="Patience">Steps without sufficient improvement before stopping (with <paramref name="MinImprovement"/>).</param>
public sealed record StopSpec(double? LossBelow = null, double? MinImprovement = null, int Patience = 10);

/// <summary>One gradient-descent fit of a polynomial to points.</summary>
/// <param name="X">The x values.</param>
/// <param name="Y">The y values, same length as <paramref name="X"/>.</param>
/// <param name="Degree">Polynomial degree d, 0–20; the model is p[0]·x^d + … + p[d].</param>
/// <param name="Loss">The loss.</param>
/// <param name="LearningRate">Base learning rate, finite and &gt; 0.</param>
/// <param name="Steps">Number of parameter updates (at most).</param>
/// <param name="InitialParams">Starting parameters, highest power first (length d+1); null means zeros.</param>
/// <param name="Optimizer">The optimizer; null means plain SGD.</param>
/// <param name="Schedule">The learning-rate schedule; null means constant.</param>
/// <param name="Stop">Early-stop rules; null means none.</param>
/// <param name="HistoryEvery">Record the loss of every k-th step only (step 0, k, 2k, …).</param>
/// <param name="Formula">A formula model instead of the polynomial (then <paramref name="Degree"/> is ignored and the params are the formula's, in its order); null means the polynomial.</param>
/// <param name="Network">A neural network instead of the polynomial (then <paramref name="Degree"/> is ignored and the params are the
/// network's in PyTorch <c>state_dict</c> order, see <see cref="Networks.NetworkSpec"/>); null means the polynomial or the formula.</param>
/// <param name="Features">Number of input features d of a network: <paramref name="X"/> holds n rows of d values, row-major
/// (X.Length = n·d, Y.Length = n). Must be 1 for the polynomial and formulas.</param>
/// <param name="Standardize">Networks only: standardize each feature column as sklearn's <c>StandardScaler</c> before fitting
/// (see <see cref="Networks.Standardization"/>); the result carries the means and scales.</param>
/// <param name="BatchSize">Networks only: points per step (mini-batches, the last one of an epoch partial as PyTorch's
/// <c>DataLoader(drop_last=False)</c>); null means the full batch.</param>
/// <param name="Shuffle">Networks only: shuffle the points every epoch (see <see cref="Networks.NetworkRandom"/>); false keeps them in order.</param>
/// <param name="Seed">Seeds the initialization (when <paramref name="InitialParams"/> is null) and the shuffle of a network.</param>
/// <param name="HistoryPerEpoch">Networks only: record one history entry per epoch (the mean loss of its batches weighted by
/// their sizes) instead of one per step.</param>
public sealed record FitProblem(
    double[] X,
    double[] Y,
    int Degree,
    LossSpec Loss,
    double LearningRate,
    int Steps,
    double[]? InitialParams = null,
    OptimizerSpec? Optimizer = null,
    ScheduleSpec? Schedule = null,
    StopSpec? Stop = null,
    int HistoryEvery = 1,
    Formulas.Formula? Formula = null,
    Networks.NetworkSpec? Network = null,
    int Features = 1,
    bool Standardize = false,
    int? BatchSize = null,
    bool Shuffle = false,
    ulong Seed = 0,
    bool HistoryPerEpoch = false)
{
    /// <summary>Number of params: the network's, the formula's, or degree + 1 for the polynomial.</summary>
    public int ParameterCount => Network?.ParameterCount(Features) ?? Formula?.Parameters.Count ?? Degree + 1;

    /// <summary>Number of points n (rows of <see cref="X"/>).</summary>
    public int Points => X is null || Features < 1 ? 0 : X.Length / Features;

    /// <summary>True for the polynomial model (neither a formula nor a network).</summary>
    public bool IsPolynomial => Formula is null && Network is null;
}

/// <summary>Why a run ended.</summary>
public enum StopReason
{
    /// <summary>All steps were done.</summary>
    Steps,
    /// <summary>A stop rule fired.</summary>
    Converged,
    /// <summary>The loss or a parameter became non-finite.</summary>
    Diverged,
    /// <summary>The cancellation token fired.</summary>
    Cancelled,
}

/// <summary>A snapshot of a running fit, handed to the progress callback (a fresh copy each time).</summary>
/// <param name="Step">Updates done so far.</param>
/// <param name="Params">Parameters after those updates.</param>
/// <param name="Loss">Loss recorded for the last step (the latest history value).</param>
/// <param name="History">The whole recorded history so far.</param>
public sealed record FitProgress(int Step, double[] Params, double Loss, double[] History);

/// <summary>The outcome of a run.</summary>
/// <param name="StopReason">Why it ended.</param>
/// <param name="Step">Updates done.</param>
/// <param name="Params">Final parameters, highest power first (the last finite ones when diverged).</param>
/// <param name="Loss">Loss at the final parameters (after the last update); may be non-finite when diverged.</param>
/// <param name="History">Loss before each update (every HistoryEvery-th).</param>
/// <param name="Error">Human-readable error when diverged, suggesting a learning rate.</param>
/// <param name="SuggestedLearningRate">A learning rate that should not diverge, when diverged.</param>
/// <param name="Standardization">The feature means and scales a network was fitted with (when <see cref="FitProblem.Standardize"/>); predictions apply them.</param>
/// <param name="InitialParams">The params the run started from (a network's seeded initialization when none were given); null for polynomials and formulas.</param>
public sealed record FitResult(
    StopReason StopReason,
    int Step,
    double[] Params,
    double Loss,
    double[] History,
    string? Error = null,
    double? SuggestedLearningRate = null,
    Networks.Standardization? Standardization = null,
    double[]? InitialParams = null);
