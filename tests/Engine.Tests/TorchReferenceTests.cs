using System.Text.Json;

namespace FitService.Engine.Tests;

/// <summary>Runs stored PyTorch float64 loops (bench/torch_reference.py) and requires agreement to 1e-9 relative.</summary>
public class TorchReferenceTests
{
    private const double Tolerance = 1e-9;

    public static TheoryData<string> Cases() =>
        [.. TestData.Load("torch_runs.json").GetProperty("cases").EnumerateArray().Select(c => c.GetProperty("name").GetString()!)];

    [Theory]
    [MemberData(nameof(Cases))]
    public void RunMatchesPyTorchInEveryHistoryEntryAndParameter(string name)
    {
        var c = TestData.Load("torch_runs.json").GetProperty("cases").EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        var torch = c.GetProperty("torch");
        double[] Doubles(string field) => [.. torch.GetProperty(field).EnumerateArray().Select(e => e.GetDouble())];

        var result = Fitter.Run(ProblemJson.Read(c.GetProperty("problem")));

        Assert.Equal(StopReason.Steps, result.StopReason);
        AssertClose(Doubles("history"), result.History, "history");
        AssertClose(Doubles("params"), result.Params, "params");
        AssertClose([torch.GetProperty("loss").GetDouble()], [result.Loss], "loss");
    }

    internal static void AssertClose(double[] expected, double[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            var error = Math.Abs(expected[i] - actual[i]) / Math.Max(Math.Abs(expected[i]), 1e-300);
            Assert.True(error <= Tolerance, $"{what}[{i}]: torch {expected[i]:R}, engine {actual[i]:R}, relative error {error:E2}");
        }
    }
}
