using FitService.Engine.Autodiff;
using FitService.Engine.Formulas;
using FitService.Engine.Models;
using FitService.Engine.Networks;

namespace FitService.Engine;

/// <summary>Runs gradient-descent fits. Thread-safe: each call owns its state.</summary>
public static class Fitter
{
    /// <summary>
    /// Runs <paramref name="problem"/> to its end. Deterministic: the same problem gives bit-identical results.
    /// </summary>
    /// <remarks>
    /// Step i (0-based) computes the loss L_i and gradient at the current parameters (after i updates),
    /// then: if L_i or a parameter is not finite the run ends <see cref="StopReason.Diverged"/>; if a
    /// stop rule fires on L_i it ends <see cref="StopReason.Converged"/> (no update i, so the history
    /// has i entries, one per update done, and <see cref="FitResult.Loss"/> is L_i); if the token is
    /// cancelled it ends <see cref="StopReason.Cancelled"/> the same way; else L_i is recorded as
    /// history[i] (every HistoryEvery-th) and update i uses the schedule's rate at i. After all the
    /// steps, <see cref="FitResult.Loss"/> is the loss at the final parameters.
    /// When update i makes a parameter non-finite, the run returns the parameters before it (Step = i)
    /// with the history up to and including L_i, and Loss = L_i. The progress callback is looked at
    /// roughly every 16,384 points of work (every step for large N), so very short fits may never report.
    /// </remarks>
    /// <param name="problem">The problem; validated (throws <see cref="ArgumentException"/> when invalid).</param>
    /// <param name="progress">Called at most once per <paramref name="progressInterval"/> with a snapshot, never from another thread.</param>
    /// <param name="progressInterval">Minimum time between progress calls (default 250 ms).</param>
    /// <param name="options">How many threads a step may use (default <see cref="FitRunOptions.Default"/>); never changes the result.</param>
    /// <param name="cancellationToken">Ends the run with <see cref="StopReason.Cancelled"/> and the progress so far.</param>
    public static FitResult Run(FitProblem problem, Action<FitProgress>? progress = null, TimeSpan? progressInterval = null,
        FitRunOptions? options = null, CancellationToken cancellationToken = default)
    {
        FitProblemValidator.ThrowIfInvalid(problem);
        options ??= FitRunOptions.Default;
        var parallelism = options.MaxDegreeOfParallelism;
        ArgumentOutOfRangeException.ThrowIfLessThan(parallelism, 1, "options.MaxDegreeOfParallelism");
        var interval = progressInterval ?? TimeSpan.FromMilliseconds(250);
        if (problem.Network is { } network)
        {
            var (networkKernel, standardization) = Network.Prepare(problem, parallelism);
            var start = problem.InitialParams ?? Network.InitialParams(network, problem.Features, problem.Seed);
            var result = new Descent<NetworkKernel>(problem, networkKernel, start, progress, interval, cancellationToken).Run();
            return result with { Standardization = standardization, InitialParams = [.. start] };
        }
        var kernel = options.Models?.Get(problem, parallelism) ?? Compile(problem, parallelism);
        return new Descent<FusedSource>(problem, new FusedSource(kernel), problem.InitialParams ?? new double[problem.ParameterCount], progress, interval, cancellationToken).Run();
    }

    /// <summary>The loss of the polynomial with <paramref name="parameters"/> (highest power first) on the points, exactly as a run computes it.</summary>
    /// <param name="x">The x values.</param>
    /// <param name="y">The y values.</param>
    /// <param name="degree">The polynomial's degree.</param>
    /// <param name="loss">The loss.</param>
    /// <param name="parameters">The params, highest power first.</param>
    /// <param name="weights">Per-point weights (the weighted mean loss), or null for the plain mean.</param>
    public static double Evaluate(double[] x, double[] y, int degree, LossSpec loss, double[] parameters, double[]? weights = null)
    {
        var problem = new FitProblem(x, y, degree, loss, LearningRate: 1.0, Steps: 1, InitialParams: parameters, Weights: weights);
        FitProblemValidator.ThrowIfInvalid(problem);
        return Compile(problem).Forward(parameters);
    }

    /// <summary>The loss of the formula with <paramref name="parameters"/> (in the formula's order) on the points, exactly as a run computes it.</summary>
    /// <param name="x">The x values.</param>
    /// <param name="y">The y values.</param>
    /// <param name="formula">The model.</param>
    /// <param name="loss">The loss.</param>
    /// <param name="parameters">The params, in the formula's order.</param>
    /// <param name="weights">Per-point weights (the weighted mean loss), or null for the plain mean.</param>
    public static double Evaluate(double[] x, double[] y, Formula formula, LossSpec loss, double[] parameters, double[]? weights = null)
    {
        var problem = new FitProblem(x, y, 0, loss, LearningRate: 1.0, Steps: 1, InitialParams: parameters, Formula: formula, Weights: weights);
        FitProblemValidator.ThrowIfInvalid(problem);
        return Compile(problem).Forward(parameters);
    }

    /// <summary>The loss graph of a polynomial fit, compiled: the polynomial by Horner's rule, then the loss.</summary>
    internal static FusedKernel Compile(double[] x, double[] y, int degree, LossSpec loss) =>
        Compile(new FitProblem(x, y, degree, loss, 1.0, 1));

    /// <summary>The loss graph of the problem's model (the polynomial, or its formula), compiled.</summary>
    internal static FusedKernel Compile(FitProblem problem, int? maxDegreeOfParallelism = null, int chunkedFrom = FusedKernel.ChunkedFrom)
    {
        var parameters = Enumerable.Range(0, problem.ParameterCount).Select(_ => Tensor.Parameter()).ToArray();
        var x = Tensor.Points(problem.X);
        var prediction = problem.Formula is { } formula ? formula.Build(parameters, x) : Polynomial.Build(parameters, x);
        // Without weights the graph is exactly the plain mean's, so unweighted fits stay bit-identical.
        var loss = problem.Weights is { } weights
            ? Losses.Build(problem.Loss, prediction, Tensor.Points(problem.Y), Tensor.Points(Losses.Normalize(weights)))
            : Losses.Build(problem.Loss, prediction, Tensor.Points(problem.Y));
        return new FusedKernel(loss, parameters, maxDegreeOfParallelism, chunkedFrom);
    }
}
