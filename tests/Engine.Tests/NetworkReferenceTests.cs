using System.Text.Json;
using FitService.Engine.Networks;

namespace FitService.Engine.Tests;

/// <summary>
/// Network runs against stored PyTorch float64 runs of nn.Sequential (bench/torch_reference.py networks): the same init
/// (drawn by the script's copy of our generator), batches, shuffles and standardization; history, params and final loss
/// agree to 1e-9 relative (the sums run in another order than PyTorch's matrix products, so not to the bit).
/// </summary>
public class NetworkReferenceTests
{
    private const double Tolerance = 1e-9;

    private static JsonElement Data => TestData.Load("torch_networks.json");

    public static TheoryData<string> Cases() =>
        [.. Data.GetProperty("cases").EnumerateArray().Select(c => c.GetProperty("name").GetString()!)];

    private static double[] Doubles(JsonElement e) => [.. e.EnumerateArray().Select(v => v.GetDouble())];

    [Theory]
    [MemberData(nameof(Cases))]
    public void NetworkRunMatchesPyTorchInEveryHistoryEntryAndParameter(string name)
    {
        var c = Data.GetProperty("cases").EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        var torch = c.GetProperty("torch");

        var result = Fitter.Run(ProblemJson.Read(c.GetProperty("problem")));

        Assert.Equal(StopReason.Steps, result.StopReason);
        Assert.Equal(Doubles(torch.GetProperty("initialParams")), result.InitialParams);
        AssertClose(Doubles(torch.GetProperty("history")), result.History, "history");
        AssertClose(Doubles(torch.GetProperty("params")), result.Params, "params");
        AssertClose([torch.GetProperty("loss").GetDouble()], [result.Loss], "loss");
    }

    [Fact]
    public void GeneratorDrawsWhatThePythonCopyDraws()
    {
        var expected = Data.GetProperty("random");
        var random = new NetworkRandom(expected.GetProperty("seed").GetUInt64());
        Assert.Equal(expected.GetProperty("next").EnumerateArray().Select(e => ulong.Parse(e.GetString()!)), Enumerable.Range(0, 4).Select(_ => random.Next()));
        Assert.Equal(Doubles(expected.GetProperty("uniform")), Enumerable.Range(0, 3).Select(_ => random.Uniform()));
        Assert.Equal(expected.GetProperty("below10").EnumerateArray().Select(e => e.GetInt32()), Enumerable.Range(0, 5).Select(_ => random.Below(10)));
        var order = new int[10];
        random.Permutation(order);
        Assert.Equal(expected.GetProperty("permutation10").EnumerateArray().Select(e => e.GetInt32()), order);
    }

    [Fact]
    public void TitanicLikeTableIsThePythonGeneratorsToTheBit()
    {
        var expected = Data.GetProperty("titanicLike");
        var (x, y) = TitanicLikeData.Generate(expected.GetProperty("rows").GetInt32(), expected.GetProperty("seed").GetUInt64());
        Assert.Equal(Doubles(expected.GetProperty("x")), x);
        Assert.Equal(Doubles(expected.GetProperty("y")), y);
    }

    private static void AssertClose(double[] expected, double[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            var error = Math.Abs(expected[i] - actual[i]) / Math.Max(Math.Abs(expected[i]), 1e-300);
            Assert.True(error <= Tolerance, $"{what}[{i}]: torch {expected[i]:R}, engine {actual[i]:R}, relative error {error:E2}");
        }
    }
}
