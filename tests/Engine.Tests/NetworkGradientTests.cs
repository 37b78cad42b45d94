using FitService.Engine.Autodiff;
using FitService.Engine.Models;
using FitService.Engine.Networks;

namespace FitService.Engine.Tests;

/// <summary>The fused network kernel against the autodiff tape (the same network built from scalar ops) and central differences.</summary>
public class NetworkGradientTests
{
    /// <summary>The network as a graph of the core's operations: one scalar parameter per weight, one vector per feature.</summary>
    internal static Tensor BuildGraph(NetworkSpec network, int features, Tensor[] parameters, Tensor[] columns)
    {
        var widths = network.Widths(features);
        IReadOnlyList<Tensor> values = columns;
        var offset = 0;
        for (var l = 0; l + 1 < widths.Length; l++)
        {
            var (inputs, outputs) = (widths[l], widths[l + 1]);
            var next = new Tensor[outputs];
            for (var o = 0; o < outputs; o++)
            {
                var s = parameters[offset + o * inputs] * values[0];
                for (var i = 1; i < inputs; i++) s += parameters[offset + o * inputs + i] * values[i];
                s += parameters[offset + inputs * outputs + o];
                next[o] = l + 2 == widths.Length ? s : network.Activation switch
                {
                    Activation.Relu => s.Relu(),
                    Activation.Tanh => s.Tanh(),
                    _ => s.Sigmoid(),
                };
            }
            offset += inputs * outputs + outputs;
            values = next;
        }
        return values[0];
    }

    public static TheoryData<string, string> Cases() => new()
    {
        { "relu:3", "mse" }, { "relu:3", "mae" }, { "relu:3", "huber" }, { "relu:3", "bce" },
        { "mlp:4,3:tanh", "mse" }, { "mlp:4,3:sigmoid", "bce" }, { "mlp:2,2,2:relu", "huber" }, { "linear", "mse" }, { "linear", "bce" },
    };

    internal static NetworkSpec Parse(string model)
    {
        var parts = model.Split(':');
        return parts[0] switch
        {
            "linear" => NetworkSpec.Linear(),
            "relu" => NetworkSpec.Relu(int.Parse(parts[1])),
            _ => NetworkSpec.Mlp(parts[1].Split(',').Select(int.Parse), Enum.Parse<Activation>(parts[2], ignoreCase: true)),
        };
    }

    private static LossSpec Loss(string name) => new(Enum.Parse<LossKind>(name, ignoreCase: true), 0.7);

    /// <summary>Deterministic data: 11 rows (two full vectors and a partial one) of 3 features.</summary>
    private static (double[] X, double[] Y) Data(int features, bool binary)
    {
        var random = new NetworkRandom(7);
        var n = 11;
        var x = Enumerable.Range(0, n * features).Select(_ => 4 * random.Uniform() - 2).ToArray();
        var y = Enumerable.Range(0, n).Select(_ => binary ? (random.Uniform() < 0.5 ? 0.0 : 1.0) : 3 * random.Uniform() - 1).ToArray();
        return (x, y);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void KernelLossAndGradientEqualTheTapeOfTheSameNetwork(string model, string loss)
    {
        var network = Parse(model);
        const int features = 3;
        var (x, y) = Data(features, loss == "bce");
        var p = Network.InitialParams(network, features, seed: 3);
        var kernel = new NetworkKernel(network, features, x, y, Loss(loss), batchSize: null, shuffle: false, seed: 0);
        var gradient = new double[p.Length];
        var value = kernel.ForwardBackward(0, p, gradient);

        var parameters = p.Select(v => Tensor.Parameter(v)).ToArray();
        var columns = Enumerable.Range(0, features).Select(f => Tensor.Points([.. Enumerable.Range(0, y.Length).Select(i => x[i * features + f])])).ToArray();
        var tape = new Tape(Losses.Build(Loss(loss), BuildGraph(network, features, parameters, columns), Tensor.Points(y)));
        var expected = tape.Forward();
        tape.Backward();

        Assert.Equal(expected, value, 1e-13);
        for (var k = 0; k < p.Length; k++) Assert.True(Math.Abs(parameters[k].Grad[0] - gradient[k]) <= 1e-12 * (1 + Math.Abs(gradient[k])), $"param {k}: tape {parameters[k].Grad[0]:R}, kernel {gradient[k]:R}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void KernelGradientMatchesCentralDifferences(string model, string loss)
    {
        var network = Parse(model);
        const int features = 3;
        var (x, y) = Data(features, loss == "bce");
        var p = Network.InitialParams(network, features, seed: 5);
        var kernel = new NetworkKernel(network, features, x, y, Loss(loss), batchSize: null, shuffle: false, seed: 0);
        var gradient = new double[p.Length];
        kernel.ForwardBackward(0, p, gradient);
        const double h = 1e-6;
        for (var k = 0; k < p.Length; k++)
        {
            var (plus, minus) = ((double[])p.Clone(), (double[])p.Clone());
            plus[k] += h;
            minus[k] -= h;
            var numeric = (kernel.Forward(plus) - kernel.Forward(minus)) / (2 * h);
            // Central differences err by O(h²) on smooth losses; a ReLU or |r| kink within h of a point would break that (the seeded data has none).
            Assert.True(Math.Abs(numeric - gradient[k]) <= 1e-6 * (1 + Math.Abs(numeric)), $"param {k}: numeric {numeric:R}, kernel {gradient[k]:R}");
        }
    }
}
