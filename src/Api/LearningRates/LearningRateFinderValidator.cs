using FitService.Api.Fits;
using FitService.Engine.LearningRates;
using FitService.Engine.Models;

namespace FitService.Api.LearningRates;

/// <summary>Checks a finder request with the fit's rules for the shared fields and the sweep's own.</summary>
public static class LearningRateFinderValidator
{
    /// <summary>The sweep a validated spec describes.</summary>
    public static LearningRateSweep Sweep(this LearningRateFinderSpec spec) => new(spec.StartLearningRate, spec.EndLearningRate, spec.Steps);

    public static (LearningRateFinderSpec Spec, double[] X, double[] Y)? Validate(LearningRateFinderRequest request, LimitsOptions limits, ValidationErrors errors)
    {
        FitValidator.ValidatePoints(request.X, request.Y, limits, errors);
        var formula = FitValidator.ValidateModel(request.Degree, request.Model, errors);
        FitValidator.ValidateLoss(request.Loss, request.HuberDelta, errors, request.Y);
        var count = formula?.Parameters.Count ?? Polynomial.ParameterCount(request.Degree);
        FitValidator.ValidateParams(request.InitialParams, count, formula is null ? "degree + 1" : "the number of params", "initialParams", errors);
        var optimizer = FitValidator.ValidateOptimizer(request.Optimizer, errors);
        var defaults = new LearningRateSweep();
        var sweep = new LearningRateSweep(request.StartLearningRate ?? defaults.StartLearningRate, request.EndLearningRate ?? defaults.EndLearningRate,
            request.Steps ?? defaults.Steps);
        foreach (var (field, message) in LearningRateFinder.Problems(sweep)) errors.Add(field, message);
        FitValidator.ValidateLabel(request.Label, limits, errors);
        if (errors.Any) return null;

        var spec = new LearningRateFinderSpec
        {
            Degree = formula is null ? request.Degree : null,
            Model = formula is null ? null : new ModelDto { Formula = formula.Text, Params = [.. formula.Parameters] },
            Loss = request.Loss!,
            HuberDelta = request.Loss == "huber" ? request.HuberDelta ?? 1.0 : null,
            Points = request.X!.Length,
            InitialParams = request.InitialParams ?? Enumerable.Repeat(formula is null ? 0.0 : 1.0, count!.Value).ToArray(),
            Optimizer = optimizer!,
            StartLearningRate = sweep.StartLearningRate,
            EndLearningRate = sweep.EndLearningRate,
            Steps = sweep.Steps,
            Label = request.Label,
        };
        return (spec, request.X, request.Y!);
    }
}
