using FitService.Api.Fits;

namespace FitService.Api.Tests.Fits;

/// <summary>
/// A network fit's statistics (a prediction at every point, row by row) count in its work: an mlp [300, 300] of few steps on
/// 10⁶ rows was within <c>Limits:MaxWork</c> by its descent alone and then spent half an hour of a worker on its statistics.
/// </summary>
public sealed class NetworkStatisticsWorkTests
{
    private static FitRequest Mlp(int rows, string loss, int? steps, int? batchSize = null) => new()
    {
        X = new XValues(new double[rows], 1, asRows: true), Y = new double[rows], Model = new ModelDto { Type = "mlp", Layers = [300, 300] },
        Loss = loss, LearningRate = new LearningRateValue(0.01), Steps = steps, BatchSize = batchSize,
    };

    private static FitSpec Spec(FitRequest request)
    {
        var errors = new ValidationErrors();
        var valid = FitValidator.Validate(request, new LimitsOptions(), errors);
        Assert.False(errors.Any, string.Join("; ", errors.ToDictionary().SelectMany(e => e.Value)));
        return valid!.Spec;
    }

    [Fact]
    public void TheStatisticsOfANetworkFitCountAsAPredictionAtEveryPoint()
    {
        var spec = Spec(Mlp(1000, "mse", steps: 10));
        var parameters = FitWork.Params(spec);

        Assert.Equal(91_201, parameters);
        Assert.Equal(FitWork.Descent(spec) + FitWork.NetworkPredictCost * parameters * 1000, FitWork.Of(spec));
        var bce = Spec(Mlp(1000, "bce", steps: 10));
        Assert.Equal(FitWork.Descent(bce), FitWork.Of(bce)); // bce has no statistics
    }

    [Fact]
    public void AFewStepsOfABigNetworkOnAMillionRowsAreBeyondMaxWorkOnceTheStatisticsCount()
    {
        var spec = Spec(Mlp(1_000_000, "mse", steps: 2290, batchSize: 1000));

        Assert.True(FitWork.Descent(spec) <= new LimitsOptions().MaxWork, $"descent {FitWork.Descent(spec):0.###e0}");
        Assert.True(FitWork.Of(spec) > new LimitsOptions().MaxWork, $"all {FitWork.Of(spec):0.###e0}");
    }

    [Fact]
    public void DefaultStepsOfANetworkLeaveRoomForItsStatistics()
    {
        var spec = Spec(Mlp(1_000_000, "mse", steps: null, batchSize: 1000));

        Assert.True(spec.Steps >= 1);
        Assert.True(FitWork.Of(spec) <= new LimitsOptions().MaxWork, $"work {FitWork.Of(spec):0.###e0} with {spec.Steps} default steps");
    }
}
