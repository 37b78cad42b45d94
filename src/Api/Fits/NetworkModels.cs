using FitService.Engine;
using FitService.Engine.Networks;

namespace FitService.Api.Fits;

/// <summary>
/// The network models on the wire (<c>model.type</c> relu, mlp, linear) and their engine <see cref="NetworkSpec"/>: the
/// one place that reads, checks and writes them, for fits, predictions, plots and the cost model alike.
/// </summary>
public static class NetworkModels
{
    public const string Formula = "formula", Relu = "relu", Mlp = "mlp", Linear = "linear";

    /// <summary>The values of <c>model.type</c>.</summary>
    public static readonly string[] Types = [Formula, Relu, Mlp, Linear];

    /// <summary>The values of <c>model.activation</c>.</summary>
    public static readonly string[] Activations = ["relu", "tanh", "sigmoid"];

    /// <summary>Fields of a request that only a network model takes.</summary>
    public static readonly string[] NetworkOnlyFields = ["standardize", "seed", "batchSize", "shuffle", "epochs", "historyPerEpoch"];

    /// <summary>Whether the model is one of the networks (a type other than formula).</summary>
    public static bool IsNetwork(ModelDto? model) => model?.Type is Relu or Mlp or Linear;

    /// <summary>
    /// The network a request's model describes, with its rules checked (errors name <c>model.*</c>); null with errors when
    /// invalid. <paramref name="features"/> is the number of values a row of x holds.
    /// </summary>
    public static NetworkSpec? Validate(ModelDto model, int features, LimitsOptions limits, ValidationErrors errors)
    {
        var type = model.Type!;
        if (model.Formula is not null) errors.Add("model.formula", $"does not apply to model type {type}");
        if (model.Params is not null) errors.Add("model.params", $"does not apply to model type {type} (its params are named by layer; see docs/models.md)");
        if (type != Relu && model.Units is not null) errors.Add("model.units", $"applies only to model type relu{(type == Mlp ? "; an mlp gives layers" : "")}");
        if (type != Mlp && model.Layers is not null) errors.Add("model.layers", $"applies only to model type mlp{(type == Relu ? "; a relu model gives units" : "")}");
        if (type != Mlp && model.Activation is not null) errors.Add("model.activation", "applies only to model type mlp (relu is a sum of ReLUs, linear has none)");

        NetworkSpec? network = null;
        switch (type)
        {
            case Relu:
                if (model.Units is not { } units) errors.Add("model.units", $"is required for model type relu: the number of ReLUs, 1 to {NetworkSpec.MaxUnits}");
                else if (units is < 1 or > NetworkSpec.MaxUnits) errors.Add("model.units", $"must be between 1 and {NetworkSpec.MaxUnits}");
                else network = NetworkSpec.Relu(units);
                break;
            case Mlp:
                var activation = model.Activation ?? "relu";
                if (!Activations.Contains(activation)) errors.Add("model.activation", $"must be one of {string.Join(", ", Activations)}");
                if (model.Layers is not { } layers) errors.Add("model.layers", $"is required for model type mlp: the widths of the hidden layers, e.g. [16, 16]");
                else if (layers.Length is < 1 or > NetworkSpec.MaxLayers) errors.Add("model.layers", $"has {layers.Length} layers; give 1 to {NetworkSpec.MaxLayers}");
                else if (Array.FindIndex(layers, k => k is < 1 or > NetworkSpec.MaxUnits) is var bad and >= 0)
                    errors.Add("model.layers", $"layer {bad} has {layers[bad]} units; each layer must have 1 to {NetworkSpec.MaxUnits}");
                else if (Activations.Contains(activation)) network = NetworkSpec.Mlp(layers, ActivationOf(activation));
                break;
            default:
                network = NetworkSpec.Linear();
                break;
        }
        if (network is null || features < 1) return null;
        var maxParams = Math.Min(limits.MaxNetworkParams, NetworkSpec.MaxParams);
        var count = (long)network.ParameterCount(features);
        if (count > maxParams)
        {
            errors.Add("model", $"has {count} params with {features} feature{(features == 1 ? "" : "s")}; at most {maxParams} (Limits:MaxNetworkParams) are allowed");
            return null;
        }
        return network;
    }

    /// <summary>The network of a validated spec, or null for a polynomial or a formula.</summary>
    public static NetworkSpec? Of(FitSpec spec) => spec.Model is { } model && IsNetwork(model) ? Of(model) : null;

    private static NetworkSpec Of(ModelDto model) => model.Type switch
    {
        Relu => NetworkSpec.Relu(model.Units!.Value),
        Mlp => NetworkSpec.Mlp(model.Layers!, ActivationOf(model.Activation ?? "relu")),
        _ => NetworkSpec.Linear(),
    };

    /// <summary>The model as a spec stores and echoes it: its type and only the fields that type takes, defaults filled in.</summary>
    public static ModelDto Normalized(ModelDto model) => model.Type switch
    {
        Relu => new ModelDto { Type = Relu, Units = model.Units },
        Mlp => new ModelDto { Type = Mlp, Layers = model.Layers, Activation = model.Activation ?? "relu" },
        _ => new ModelDto { Type = Linear },
    };

    /// <summary>Params of the fit's network with its features.</summary>
    public static int ParameterCount(FitSpec spec) => Of(spec)!.ParameterCount(spec.Features ?? 1);

    /// <summary>The flat params of a network fit cut into its <c>state_dict</c> tensors; null for other models or a wrong length.</summary>
    public static LayerParamsDto[]? ByLayer(FitSpec spec, double[]? parameters)
    {
        if (Of(spec) is not { } network || parameters is null) return null;
        var features = spec.Features ?? 1;
        if (parameters.Length != network.ParameterCount(features)) return null;
        return [.. network.ByLayer(features, parameters).Select(l => new LayerParamsDto(l.Name, l.Name.EndsWith(".bias", StringComparison.Ordinal) ? [l.Rows] : [l.Rows, l.Columns], l.Values))];
    }

    /// <summary>Steps of <paramref name="epochs"/> passes over <paramref name="points"/> in batches of <paramref name="batchSize"/> (the last one partial).</summary>
    public static long StepsOf(int epochs, int points, int? batchSize) => (long)epochs * BatchesPerEpoch(points, batchSize);

    /// <summary>⌈points / batchSize⌉: updates in one pass over the points (the engine's <see cref="Network.StepsPerEpoch"/>).
    /// An invalid batch size (reported by the validator) counts as the full batch here.</summary>
    public static long BatchesPerEpoch(int points, int? batchSize) => Network.StepsPerEpoch(Math.Max(points, 1), batchSize is >= 1 ? batchSize : null);

    /// <summary>The model's output at each row of <paramref name="x"/>, in the caller's units (the fit's standardization applied).</summary>
    public static double[] Predict(FitSpec spec, double[] parameters, double[] x, StandardizationDto? standardization) =>
        Network.Predict(Of(spec)!, spec.Features ?? 1, parameters, x,
            standardization is null ? null : new Standardization(standardization.Means, standardization.Scales));

    /// <summary>Each hidden unit's part of a one-feature network with one hidden layer at <paramref name="xs"/> (the engine's <see cref="Network.UnitContributions"/>).</summary>
    public static double[][] UnitContributions(FitSpec spec, double[] parameters, double[] xs, StandardizationDto? standardization) =>
        Network.UnitContributions(Of(spec)!, spec.Features ?? 1, parameters, xs,
            standardization is null ? null : new Standardization(standardization.Means, standardization.Scales));

    private static Activation ActivationOf(string name) => name switch
    {
        "tanh" => Activation.Tanh,
        "sigmoid" => Activation.Sigmoid,
        _ => Activation.Relu,
    };
}
