using System.Text.Json;
using FitService.Api.Storage;

namespace FitService.Api.Fits;

/// <summary>
/// Stored fits to API resources: the one place every writer of a fit (GET, <c>Prefer: wait</c>, the SSE <c>end</c> event,
/// cancel, webhooks, submit) goes through, so the cap on the inline history holds for all of them.
/// </summary>
public static class FitMapper
{
    /// <summary>
    /// The fit as a resource, its inline history capped at <paramref name="maxInlineHistory"/> entries: the first ones,
    /// so that <c>history[i]</c> stays the loss before update i·historyEvery and the rest follows by paging on from
    /// <c>historyNext</c>. Read the record with the same cap (<see cref="IFitReader.GetAsync(string, string, int, CancellationToken)"/>)
    /// and no more history than that is ever loaded.
    /// </summary>
    public static FitResource ToResource(FitRecord fit, int maxInlineHistory) =>
        ToResource(fit, maxInlineHistory, StoredSpecs.Read<FitSpec>(fit.RequestJson));

    /// <summary>As <see cref="ToResource(FitRecord, int)"/>, with the fit's stored request already read (<see cref="ParsedFitSpecs"/>).</summary>
    public static FitResource ToResource(FitRecord fit, int maxInlineHistory, FitSpec spec)
    {
        var outcome = FitOutcome.FromJson(fit.OutcomeJson);
        var resource = ToResource(fit, outcome, spec);
        if (fit.History is not { } history) return resource;
        var shown = Math.Min(history.Length, Math.Max(maxInlineHistory, 0));
        var total = Math.Max(fit.HistoryTotal ?? history.Length, shown);
        return resource with
        {
            History = Array.ConvertAll(history[..shown], FiniteOrNull),
            HistoryTotal = total,
            HistoryTruncated = total > shown,
            HistoryNext = total > shown ? HistoryLink(fit.Id, shown) : null,
        };
    }

    /// <summary>Where the history goes on after its first <paramref name="offset"/> entries.</summary>
    public static string HistoryLink(string id, int offset) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"/v1/fits/{Uri.EscapeDataString(id)}/history?offset={offset}");

    private static FitResource ToResource(FitRecord fit, FitOutcome? outcome, FitSpec spec) => new()
    {
        Id = fit.Id,
        Status = fit.Status.ToWire(),
        StopReason = fit.StopReason,
        Step = fit.Step,
        Steps = fit.Steps,
        Params = fit.Params,
        ParamsByLayer = NetworkModels.ByLayer(spec, fit.Params),
        Standardization = outcome?.Standardization,
        Loss = fit.Loss,
        HistoryEvery = fit.HistoryEvery,
        CreatedAt = fit.CreatedAt,
        StartedAt = fit.StartedAt,
        FinishedAt = fit.FinishedAt,
        Error = fit.Error,
        Label = fit.Label,
        Request = spec with { Warnings = null },
        Warnings = spec.Warnings,
        Optimum = outcome?.Optimum,
        OptimumStatus = OptimumStatusOf(fit, spec, outcome),
        Gap = outcome?.Gap,
        OptimumError = outcome?.OptimumError,
        LearningRateChosen = outcome?.LearningRateChosen,
        LearningRateSuggestions = outcome?.LearningRateSuggestions,
        Statistics = outcome?.Statistics,
    };

    private static string OptimumStatusOf(FitRecord fit, FitSpec request, FitOutcome? outcome)
    {
        if (outcome?.Optimum is not null) return OptimumStatuses.Ready;
        if (outcome?.OptimumError is not null) return OptimumStatuses.Failed;
        if (outcome?.OptimumPending == true) return OptimumStatuses.Pending;
        var hasOptimum = FitWork.HasOptimum(request) && fit.Kind == FitKinds.Fit;
        return hasOptimum && fit.Status is FitStatus.Queued or FitStatus.Running ? OptimumStatuses.Pending : OptimumStatuses.NotApplicable;
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
