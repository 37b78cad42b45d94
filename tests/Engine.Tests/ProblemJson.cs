using System.Text.Json;
using FitService.Engine.Formulas;

namespace FitService.Engine.Tests;

/// <summary>Reads a problem written in the API's JSON shape (as bench/torch_reference.py writes it).</summary>
internal static class ProblemJson
{
    public static FitProblem Read(JsonElement p)
    {
        double[] Doubles(string name) => [.. p.GetProperty(name).EnumerateArray().Select(e => e.GetDouble())];
        double Get(JsonElement e, string name, double fallback) => e.TryGetProperty(name, out var v) ? v.GetDouble() : fallback;

        var o = p.GetProperty("optimizer");
        OptimizerSpec optimizer = o.GetProperty("type").GetString() == "sgd"
            ? new SgdSpec(Get(o, "momentum", 0), Get(o, "dampening", 0), o.TryGetProperty("nesterov", out var n) && n.GetBoolean())
            : new AdamSpec(Get(o, "beta1", 0.9), Get(o, "beta2", 0.999), Get(o, "epsilon", 1e-8));
        var s = p.GetProperty("schedule");
        ScheduleSpec schedule = s.GetProperty("type").GetString() switch
        {
            "step" => new StepSchedule(s.GetProperty("every").GetInt32(), s.GetProperty("gamma").GetDouble()),
            "exponential" => new ExponentialSchedule(s.GetProperty("gamma").GetDouble()),
            "cosine" => new CosineSchedule(Get(s, "minLearningRate", 0)),
            "oneCycle" => new OneCycleSchedule(s.GetProperty("maxLearningRate").GetDouble(), Get(s, "warmupFraction", 0.25), Get(s, "div", 25), Get(s, "divFinal", 1e5)),
            _ => new ConstantSchedule(),
        };
        var loss = p.GetProperty("loss").GetString() switch { "mae" => LossKind.Mae, "mse" => LossKind.Mse, "bce" => LossKind.Bce, _ => LossKind.Huber };
        if (p.TryGetProperty("features", out var features))
            return new FitProblem(Doubles("x"), Doubles("y"), 0, new LossSpec(loss, Get(p, "huberDelta", 1.0)),
                p.GetProperty("learningRate").GetDouble(), p.GetProperty("steps").GetInt32(),
                p.TryGetProperty("initialParams", out var init) ? [.. init.EnumerateArray().Select(e => e.GetDouble())] : null, optimizer, schedule,
                Network: Network(p.GetProperty("model")), Features: features.GetInt32(),
                Standardize: p.TryGetProperty("standardize", out var st) && st.GetBoolean(),
                BatchSize: p.TryGetProperty("batchSize", out var b) ? b.GetInt32() : null,
                Shuffle: p.TryGetProperty("shuffle", out var sh) && sh.GetBoolean(),
                Seed: p.TryGetProperty("seed", out var seed) ? seed.GetUInt64() : 0,
                HistoryPerEpoch: p.TryGetProperty("historyPerEpoch", out var he) && he.GetBoolean());
        var formula = p.TryGetProperty("model", out var model)
            ? Formula.Parse(model.GetProperty("formula").GetString(), [.. model.GetProperty("params").EnumerateArray().Select(e => e.GetString()!)])
            : null;
        return new FitProblem(Doubles("x"), Doubles("y"), formula is null ? p.GetProperty("degree").GetInt32() : 0, new LossSpec(loss, Get(p, "huberDelta", 1.0)),
            p.GetProperty("learningRate").GetDouble(), p.GetProperty("steps").GetInt32(), Doubles("initialParams"), optimizer, schedule, Formula: formula);
    }

    private static Networks.NetworkSpec Network(JsonElement m) => m.GetProperty("type").GetString() switch
    {
        "relu" => Networks.NetworkSpec.Relu(m.GetProperty("units").GetInt32()),
        "linear" => Networks.NetworkSpec.Linear(),
        _ => Networks.NetworkSpec.Mlp(m.GetProperty("layers").EnumerateArray().Select(e => e.GetInt32()),
            Enum.Parse<Networks.Activation>(m.GetProperty("activation").GetString()!, ignoreCase: true)),
    };
}
