namespace FitService.Engine.Networks;

/// <summary>The activation between a network's dense layers.</summary>
public enum Activation
{
    /// <summary>max(z, 0), <c>nn.ReLU</c>.</summary>
    Relu,
    /// <summary>tanh z, <c>nn.Tanh</c>.</summary>
    Tanh,
    /// <summary>1 / (1 + e^−z), <c>nn.Sigmoid</c>.</summary>
    Sigmoid,
}

/// <summary>Which of the network models a <see cref="NetworkSpec"/> was made as (the same structure either way; kept to echo the request).</summary>
public enum NetworkType
{
    /// <summary>One hidden layer of ReLUs: the lesson's y = Σⱼ vⱼ·relu(aⱼ·x + bⱼ) + c.</summary>
    Relu,
    /// <summary>Dense hidden layers with one activation, then a linear output.</summary>
    Mlp,
    /// <summary>No hidden layer: y = w·x + b over the features (<c>nn.Linear(d, 1)</c>).</summary>
    Linear,
}

/// <summary>One block of a network's params, named as PyTorch's <c>nn.Sequential</c> names it in its <c>state_dict</c>.</summary>
/// <param name="Name">"0.weight", "0.bias", "2.weight", … (the Linear modules sit at even indices, the activations between them).</param>
/// <param name="Rows">Rows of the block (out features); the bias has Rows = out.</param>
/// <param name="Columns">Columns (in features) of a weight; 1 for a bias.</param>
/// <param name="Offset">Where the block starts in the flat params.</param>
public sealed record ParamBlock(string Name, int Rows, int Columns, int Offset)
{
    /// <summary>Number of params in the block (Rows × Columns).</summary>
    public int Length => Rows * Columns;
}

/// <summary>A block of params with its values, row-major (weight[o, i] at o·Columns + i).</summary>
/// <param name="Name">As <see cref="ParamBlock.Name"/>.</param>
/// <param name="Rows">Out features.</param>
/// <param name="Columns">In features (1 for a bias).</param>
/// <param name="Values">The values, row-major.</param>
public sealed record LayerParams(string Name, int Rows, int Columns, double[] Values);

/// <summary>
/// A feed-forward network exactly as PyTorch's
/// <c>nn.Sequential(nn.Linear(d, k₁), act, nn.Linear(k₁, k₂), act, …, nn.Linear(kₘ, 1))</c>: dense hidden layers of
/// <see cref="Hidden"/> units with <see cref="Activation"/> between them and a linear output of one unit (a logit for BCE).
/// <para>
/// Params, flat, in <c>state_dict</c> order: for each Linear module in turn its weight (out × in, row-major: weight[o, i] at
/// o·in + i), then its bias (out). <c>torch.cat([p.flatten() for p in model.parameters()])</c> gives the same vector.
/// </para>
/// </summary>
/// <param name="Type">The model it was made as (echoed; the structure is <see cref="Hidden"/> and <see cref="Activation"/>).</param>
/// <param name="Hidden">Units of each hidden layer; empty for <see cref="NetworkType.Linear"/>.</param>
/// <param name="Activation">The activation after each hidden layer.</param>
public sealed record NetworkSpec(NetworkType Type, int[] Hidden, Activation Activation)
{
    /// <summary>Most hidden layers accepted.</summary>
    public const int MaxLayers = 8;

    /// <summary>Most units in one layer accepted.</summary>
    public const int MaxUnits = 1024;

    /// <summary>Most input features accepted.</summary>
    public const int MaxFeatures = 1024;

    /// <summary>Most params accepted in one network.</summary>
    public const int MaxParams = 1_000_000;

    /// <summary>The lesson's sum of <paramref name="units"/> ReLUs: <c>nn.Sequential(nn.Linear(d, k), nn.ReLU(), nn.Linear(k, 1))</c>.</summary>
    public static NetworkSpec Relu(int units) => new(NetworkType.Relu, [units], Activation.Relu);

    /// <summary>Dense hidden layers of <paramref name="layers"/> units with <paramref name="activation"/>, then a linear output.</summary>
    public static NetworkSpec Mlp(IEnumerable<int> layers, Activation activation) => new(NetworkType.Mlp, [.. layers], activation);

    /// <summary><c>nn.Linear(d, 1)</c>: y = Σᵢ wᵢ·xᵢ + b.</summary>
    public static NetworkSpec Linear() => new(NetworkType.Linear, [], Activation.Relu);

    /// <summary>Widths from input to output: d, k₁, …, kₘ, 1.</summary>
    public int[] Widths(int features) => [features, .. Hidden, 1];

    /// <summary>Number of params for <paramref name="features"/> inputs: Σ (in·out + out) over the Linear modules.</summary>
    public int ParameterCount(int features)
    {
        var widths = Widths(features);
        long count = 0;
        for (var l = 0; l + 1 < widths.Length; l++) count += (long)widths[l] * widths[l + 1] + widths[l + 1];
        return count > int.MaxValue ? int.MaxValue : (int)count;
    }

    /// <summary>The blocks of the flat params in <c>state_dict</c> order: "0.weight", "0.bias", "2.weight", "2.bias", ….</summary>
    public IReadOnlyList<ParamBlock> Blocks(int features)
    {
        var widths = Widths(features);
        var blocks = new List<ParamBlock>(2 * (widths.Length - 1));
        var offset = 0;
        for (var l = 0; l + 1 < widths.Length; l++)
        {
            var (inputs, outputs) = (widths[l], widths[l + 1]);
            blocks.Add(new ParamBlock($"{2 * l}.weight", outputs, inputs, offset));
            offset += outputs * inputs;
            blocks.Add(new ParamBlock($"{2 * l}.bias", outputs, 1, offset));
            offset += outputs;
        }
        return blocks;
    }

    /// <summary>The flat <paramref name="parameters"/> split into named blocks, as <c>model.state_dict()</c> shows them.</summary>
    public IReadOnlyList<LayerParams> ByLayer(int features, ReadOnlySpan<double> parameters)
    {
        if (parameters.Length != ParameterCount(features))
            throw new ArgumentException($"expected {ParameterCount(features)} params, got {parameters.Length}", nameof(parameters));
        var result = new List<LayerParams>();
        foreach (var b in Blocks(features)) result.Add(new LayerParams(b.Name, b.Rows, b.Columns, parameters.Slice(b.Offset, b.Length).ToArray()));
        return result;
    }

    /// <inheritdoc />
    public override string ToString() => Type switch
    {
        NetworkType.Linear => "linear",
        NetworkType.Relu => $"relu:{Hidden[0]}",
        _ => $"mlp:[{string.Join(",", Hidden)}]:{Activation.ToString().ToLowerInvariant()}",
    };
}
