using FitService.Engine.Autodiff;

namespace FitService.Engine.Networks;

/// <summary>What a caller needs around a network fit: its seeded initialization, its predictions, its loss at given params.</summary>
public static class Network
{
    /// <summary>
    /// PyTorch's default initialization of every <c>nn.Linear(in, out)</c> (<c>kaiming_uniform_(a=√5)</c> for the weight,
    /// U(−1/√in, 1/√in) for the bias, so both are U(−bound, bound) with bound = 1/√in), drawn from
    /// <see cref="NetworkRandom"/> seeded with <paramref name="seed"/>, in <c>state_dict</c> order: each value is
    /// −bound + 2·bound·u, u = uniform(), for layer 0's weight row by row, its bias, layer 2's weight, …
    /// (Python: <c>bound = 1 / math.sqrt(fan_in); value = -bound + (2 * bound) * u</c>).
    /// </summary>
    public static double[] InitialParams(NetworkSpec network, int features, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(network);
        var random = new NetworkRandom(seed);
        var result = new double[network.ParameterCount(features)];
        foreach (var block in network.Blocks(features))
        {
            var fanIn = block.Name.EndsWith(".bias", StringComparison.Ordinal) ? network.Blocks(features).First(b => b.Offset + b.Length == block.Offset).Columns : block.Columns;
            var bound = 1.0 / Math.Sqrt(fanIn);
            for (var k = 0; k < block.Length; k++) result[block.Offset + k] = -bound + 2.0 * bound * random.Uniform();
        }
        return result;
    }

    /// <summary>
    /// The network's output for each row of <paramref name="x"/> (n rows of <paramref name="features"/>, row-major, in the
    /// caller's units: <paramref name="standardization"/> is applied first when given). For BCE the output is the logit;
    /// <see cref="Probabilities"/> gives σ of it.
    /// </summary>
    public static double[] Predict(NetworkSpec network, int features, ReadOnlySpan<double> parameters, ReadOnlySpan<double> x, Standardization? standardization = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        if (parameters.Length != network.ParameterCount(features)) throw new ArgumentException($"expected {network.ParameterCount(features)} params, got {parameters.Length}", nameof(parameters));
        if (x.Length % features != 0) throw new ArgumentException($"x has {x.Length} values, not a whole number of rows of {features}", nameof(x));
        var rows = standardization is null ? x.ToArray() : standardization.Apply(x);
        var n = rows.Length / features;
        var widths = network.Widths(features);
        var width = widths.Max();
        var values = new double[width];
        var next = new double[width];
        var result = new double[n];
        for (var r = 0; r < n; r++)
        {
            Array.Copy(rows, r * features, values, 0, features);
            var offset = 0;
            for (var l = 0; l + 1 < widths.Length; l++)
            {
                var (inputs, outputs) = (widths[l], widths[l + 1]);
                var bias = offset + inputs * outputs;
                for (var o = 0; o < outputs; o++)
                {
                    // The kernel's order: the weighted inputs in order, then the bias.
                    var s = parameters[offset + o * inputs] * values[0];
                    for (var i = 1; i < inputs; i++) s += parameters[offset + o * inputs + i] * values[i];
                    s += parameters[bias + o];
                    next[o] = l + 2 < widths.Length ? Activate(network.Activation, s) : s;
                }
                offset = bias + outputs;
                (values, next) = (next, values);
            }
            result[r] = values[0];
        }
        return result;
    }

    /// <summary>
    /// Each hidden unit's share of the output of a network with one hidden layer (<c>relu</c> k, <c>mlp</c> [k]), as the lesson
    /// draws them: row j holds vⱼ·act(aⱼ·x + bⱼ) at every row of <paramref name="x"/> (standardized first when
    /// <paramref name="standardization"/> is given). The output is their sum plus the output bias (the last param).
    /// </summary>
    public static double[][] UnitContributions(NetworkSpec network, int features, ReadOnlySpan<double> parameters, ReadOnlySpan<double> x, Standardization? standardization = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        if (network.Hidden.Length != 1) throw new ArgumentException("unit contributions need exactly one hidden layer", nameof(network));
        if (parameters.Length != network.ParameterCount(features)) throw new ArgumentException($"expected {network.ParameterCount(features)} params, got {parameters.Length}", nameof(parameters));
        if (x.Length % features != 0) throw new ArgumentException($"x has {x.Length} values, not a whole number of rows of {features}", nameof(x));
        var rows = standardization is null ? x.ToArray() : standardization.Apply(x);
        var (n, units) = (rows.Length / features, network.Hidden[0]);
        var outputWeights = features * units + units;
        var result = new double[units][];
        for (var j = 0; j < units; j++)
        {
            result[j] = new double[n];
            for (var r = 0; r < n; r++)
            {
                var s = parameters[j * features] * rows[r * features];
                for (var i = 1; i < features; i++) s += parameters[j * features + i] * rows[r * features + i];
                s += parameters[features * units + j];
                result[j][r] = parameters[outputWeights + j] * Activate(network.Activation, s);
            }
        }
        return result;
    }

    /// <summary>Steps in one epoch of <paramref name="points"/> points in batches of <paramref name="batchSize"/> (null: all): ⌈n / batch⌉, the last batch partial.</summary>
    public static int StepsPerEpoch(int points, int? batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(points, 1);
        var batch = Math.Min(batchSize ?? points, points);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1, nameof(batchSize));
        return (points + batch - 1) / batch;
    }

    /// <summary>σ(z) = 1 / (1 + e^−z) of each logit: the probabilities of a BCE fit.</summary>
    public static double[] Probabilities(ReadOnlySpan<double> logits)
    {
        var result = new double[logits.Length];
        for (var i = 0; i < logits.Length; i++) result[i] = SigmoidRule.Sigmoid(logits[i]);
        return result;
    }

    /// <summary>The loss of <paramref name="problem"/>'s network at <paramref name="parameters"/> over all its points (standardized as the problem asks), exactly as a run's final loss.</summary>
    public static double Loss(FitProblem problem, double[] parameters)
    {
        ArgumentNullException.ThrowIfNull(problem);
        if (problem.Network is null) throw new ArgumentException("the problem has no network", nameof(problem));
        FitProblemValidator.ThrowIfInvalid(problem with { InitialParams = parameters });
        return Prepare(problem).Kernel.Forward(parameters);
    }

    /// <summary>
    /// The work of a network fit in the units of a polynomial fit's work (points × steps × params): each step visits its
    /// batch's points once for every param, the final loss all points once. For limits such as the service's
    /// <c>Limits:MaxWork</c>; a step costs about three times a polynomial step of as many params (forward, backward, recompute).
    /// </summary>
    public static double EstimateWork(FitProblem problem)
    {
        ArgumentNullException.ThrowIfNull(problem);
        if (problem.Network is null) throw new ArgumentException("the problem has no network", nameof(problem));
        var n = (double)problem.Points;
        var batch = Math.Min(problem.BatchSize ?? n, n);
        return 3.0 * problem.ParameterCount * (batch * problem.Steps + n);
    }

    /// <summary>The kernel of a network problem on its (standardized) points, and the standardization used.</summary>
    internal static (NetworkKernel Kernel, Standardization? Standardization) Prepare(FitProblem problem, int maxDegreeOfParallelism = 1)
    {
        var network = problem.Network!;
        var standardization = problem.Standardize ? Standardization.Of(problem.X, problem.Features) : null;
        var x = standardization?.Apply(problem.X) ?? problem.X;
        return (new NetworkKernel(network, problem.Features, x, problem.Y, problem.Loss, problem.BatchSize, problem.Shuffle, problem.Seed, maxDegreeOfParallelism), standardization);
    }

    private static double Activate(Activation activation, double s) => activation switch
    {
        Activation.Relu => s > 0 ? s : 0.0,
        Activation.Tanh => Math.Tanh(s),
        _ => SigmoidRule.Sigmoid(s),
    };
}
