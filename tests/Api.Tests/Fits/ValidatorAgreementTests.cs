using CsCheck;
using FitService.Api.Fits;
using FitService.Engine;

namespace FitService.Api.Tests.Fits;

/// <summary>
/// The API's validator speaks the wire (names, nulls, defaults, "does not apply"); the engine's guards the library. They
/// share the numeric rules, so the API must never accept a fit the engine would refuse: thousands of random requests,
/// around every boundary, and each one the API accepts is checked by the engine too.
/// </summary>
public sealed class ValidatorAgreementTests
{
    private static readonly double[] Edges = [double.NaN, double.NegativeInfinity, -1, -1e-300, 0, 1e-300, 0.5, 0.999, 1, 2, 1e300, double.PositiveInfinity];

    private static Gen<double?> Maybe(Gen<double> value) => Gen.Nullable(value, 0.25);
    private static Gen<int?> Maybe(Gen<int> value) => Gen.Nullable(value, 0.25);
    private static readonly Gen<double> Number = Gen.Frequency((1, (IGen<double>)Gen.OneOf(Edges)), (4, Gen.Double[1e-6, 0.99]));

    private static readonly Gen<OptimizerDto?> Optimizer = Gen.Null(
        Gen.Select(Gen.OneOf("sgd", "adam"), Maybe(Number), Maybe(Number), Gen.OneOf<bool?>(null, true, false))
            .Select((type, a, b, nesterov) => type == "sgd"
                ? new OptimizerDto { Type = type, Momentum = a, Dampening = b, Nesterov = nesterov }
                : new OptimizerDto { Type = type, Beta1 = a, Beta2 = b, Epsilon = nesterov is null ? null : a }), 0.25);

    private static readonly Gen<ScheduleDto?> Schedule = Gen.Null(
        Gen.Select(Gen.OneOf("constant", "step", "exponential", "cosine", "oneCycle"), Maybe(Gen.Int[-1, 3]), Maybe(Number), Maybe(Number))
            .Select((type, every, a, b) => type switch
            {
                "step" => new ScheduleDto { Type = type, Every = every, Gamma = a },
                "exponential" => new ScheduleDto { Type = type, Gamma = a },
                "cosine" => new ScheduleDto { Type = type, MinLearningRate = a },
                "oneCycle" => new ScheduleDto { Type = type, MaxLearningRate = a, WarmupFraction = b },
                _ => new ScheduleDto { Type = type },
            }), 0.25);

    private static readonly Gen<StopDto?> Stop = Gen.Null(
        Gen.Select(Maybe(Number), Maybe(Number), Maybe(Gen.Int[-1, 3]))
            .Select((below, improvement, patience) => new StopDto { LossBelow = below, MinImprovement = improvement, Patience = patience }), 0.33);

    private static readonly Gen<FitRequest> Request =
        Gen.Select(Gen.Int[-1, 22], Gen.OneOf("mae", "mse", "huber"), Gen.Nullable(Number, 0.7), Maybe(Number), Maybe(Gen.Int[-1, 5]), Maybe(Gen.Int[-1, 3]))
            .SelectMany((degree, loss, delta, rate, steps, every) =>
                Gen.Select(Optimizer, Schedule, Stop, Gen.Bool).Select((optimizer, schedule, stop, auto) => new FitRequest
                {
                    X = [0, 1, 2],
                    Y = [1, 3, 7],
                    Degree = degree,
                    Loss = loss,
                    HuberDelta = delta,
                    LearningRate = auto ? LearningRateValue.Auto : rate is null ? null : new LearningRateValue(rate),
                    Steps = steps,
                    HistoryEvery = every,
                    Optimizer = optimizer,
                    Schedule = schedule,
                    Stop = stop,
                }));

    [Fact]
    public void EveryFitTheApiAcceptsTheEngineAcceptsToo()
    {
        var limits = new LimitsOptions();
        var accepted = 0;
        Request.Sample(request =>
        {
            var valid = FitValidator.Validate(request, limits, new ValidationErrors());
            if (valid is null) return true;
            accepted++;
            // "auto" is replaced by the finder's suggestion before the engine sees the fit.
            var problem = FitValidator.ToProblem(valid.Spec, valid.X, valid.Y, valid.Spec.LearningRate?.IsAuto == true ? 0.01 : null);
            var refused = FitProblemValidator.Validate(problem, limits.MaxPoints, limits.MaxSteps);
            return refused.Count == 0;
        }, iter: 20_000);
        Assert.True(accepted > 1_000, $"only {accepted} of 20,000 random requests were valid: the generator misses the accepted space");
    }

    private static readonly Gen<ModelDto> Network = Gen.OneOf(
        Gen.Int[-1, 1030].Select(units => new ModelDto { Type = "relu", Units = units }),
        Gen.Select(Gen.Int[-1, 40].Array[0, 10], Gen.OneOf<string?>(null, "relu", "tanh", "sigmoid", "gelu"))
            .Select((layers, activation) => new ModelDto { Type = "mlp", Layers = layers, Activation = activation }),
        Gen.Const(new ModelDto { Type = "linear" }));

    private static readonly Gen<FitRequest> NetworkRequest =
        Gen.Select(Network, Gen.Int[1, 4], Gen.Int[1, 6], Gen.OneOf("mae", "mse", "huber", "bce"), Maybe(Gen.Int[-1, 7]), Maybe(Gen.Int[-1, 3]), Maybe(Gen.Int[-1, 3]))
            .SelectMany((model, features, points, loss, batch, epochs, steps) =>
                Gen.Select(Gen.Bool, Gen.Bool, Maybe(Gen.Int[-1, 3]), Gen.Double[0, 1].Array[points], Gen.Int[0, 3].Select(k => k == 0), Gen.Int[0, 200])
                    .Select((standardize, shuffle, seed, y, withParams, count) => new FitRequest
                    {
                        X = new XValues([.. Enumerable.Range(0, points * features).Select(i => (double)(i % 5))], features),
                        Y = loss == "bce" ? y : [.. y.Select(v => 3 * v - 1)],
                        Model = model,
                        Loss = loss,
                        LearningRate = new LearningRateValue(0.01),
                        Steps = epochs is null ? steps : null,
                        Epochs = epochs,
                        BatchSize = batch,
                        Shuffle = shuffle,
                        Standardize = standardize,
                        Seed = seed,
                        InitialParams = withParams ? [.. Enumerable.Repeat(0.1, count)] : null,
                    }));

    [Fact]
    public void EveryNetworkFitTheApiAcceptsTheEngineAcceptsToo()
    {
        var limits = new LimitsOptions();
        var accepted = 0;
        NetworkRequest.Sample(request =>
        {
            var valid = FitValidator.Validate(request, limits, new ValidationErrors());
            if (valid is null) return true;
            accepted++;
            var problem = FitValidator.ToProblem(valid.Spec, valid.X, valid.Y);
            return FitProblemValidator.Validate(problem, limits.MaxPoints, limits.MaxSteps).Count == 0;
        }, iter: 5_000);
        Assert.True(accepted > 500, $"only {accepted} of 5,000 random network requests were valid: the generator misses the accepted space");
    }
}
