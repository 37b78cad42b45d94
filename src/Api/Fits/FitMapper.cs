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

    private static FitResource ToResource(FitRecord fit, FitOutcome? outcome) => ToResource(fit, outcome, JsonSerializer.Deserialize<FitSpec>(fit.RequestJson, FitRequestReader.Strict)!);

    private static FitResource ToResource(FitRecord fit, FitOutcome? outcome, FitSpec request) => new()
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
        Request = request,
        Optimum = outcome?.Optimum,
        OptimumStatus = OptimumStatusOf(fit, request, outcome),
        Gap = outcome?.Gap,
        OptimumError = outcome?.OptimumError,
        LearningRateChosen = outcome?.LearningRateChosen,
        LearningRateSuggestions = outcome?.LearningRateSuggestions,
    };

    private static string OptimumStatusOf(FitRecord fit, FitSpec request, FitOutcome? outcome)
    {
        if (outcome?.Optimum is not null) return OptimumStatuses.Ready;
        if (outcome?.OptimumError is not null) return OptimumStatuses.Failed;
        if (outcome?.OptimumPending == true) return OptimumStatuses.Pending;
        var polynomial = request.Model is null && fit.Kind == FitKinds.Fit;
        return polynomial && fit.Status is FitStatus.Queued or FitStatus.Running ? OptimumStatuses.Pending : OptimumStatuses.NotApplicable;
    }

    public static double? FiniteOrNull(double value) => double.IsFinite(value) ? value : null;
}

/// <summary>The values of <see cref="FitResource.OptimumStatus"/>.</summary>
public static class OptimumStatuses
{
    public const string Pending = "pending";
    public const string Ready = "ready";
    public const string Failed = "failed";
    public const string NotApplicable = "notApplicable";
}
