using System.Text.Json;
using FitService.Api.Storage;

namespace FitService.Api.Fits;

/// <summary>Stored fits to API resources.</summary>
public static class FitMapper
{
    public static FitResource ToResource(FitRecord fit)
    {
        var outcome = FitOutcome.FromJson(fit.OutcomeJson);
        return ToResource(fit, outcome);
    }

    private static FitResource ToResource(FitRecord fit, FitOutcome? outcome)
    {
        var spec = JsonSerializer.Deserialize<FitSpec>(fit.RequestJson, FitRequestReader.Strict)!;
        return ToResource(fit, outcome, spec);
    }

    private static FitResource ToResource(FitRecord fit, FitOutcome? outcome, FitSpec spec) => new()
    {
        Id = fit.Id,
        Status = fit.Status.ToWire(),
        StopReason = fit.StopReason,
        Step = fit.Step,
        Steps = fit.Steps,
        Params = fit.Params,
        Loss = fit.Loss,
        History = fit.History is null ? null : Array.ConvertAll(fit.History, FiniteOrNull),
        HistoryEvery = fit.HistoryEvery,
        CreatedAt = fit.CreatedAt,
        StartedAt = fit.StartedAt,
        FinishedAt = fit.FinishedAt,
        Error = fit.Error,
        Label = fit.Label,
        Request = spec with { Warnings = null },
        Warnings = spec.Warnings,
        Optimum = outcome?.Optimum,
        Gap = outcome?.Gap,
        OptimumError = outcome?.OptimumError,
        LearningRateChosen = outcome?.LearningRateChosen,
        LearningRateSuggestions = outcome?.LearningRateSuggestions,
        Statistics = outcome?.Statistics,
    };

    public static double? FiniteOrNull(double value) => double.IsFinite(value) ? value : null;
}
