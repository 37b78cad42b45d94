using System.Globalization;
using System.Text;
using System.Text.Json;
using FitService.Api.Auth;
using FitService.Api.Http;
using FitService.Api.Fits;
using FitService.Api.Jobs;
using FitService.Api.Notifications;
using FitService.Api.Plots;
using FitService.Api.Security;
using FitService.Api.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace FitService.Api.LearningRates;

/// <summary>
/// <c>/v1/lr-finder</c>: fastai's lr_find as a background job. A run is stored in the fits table with its own kind, so it
/// shares the fits' lifecycle, tenancy, waiting and recovery, but it is not a fit: it never appears under /v1/fits.
/// </summary>
public static class LearningRateFinderEndpoints
{
    public static RouteGroupBuilder MapLearningRateFinder(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/lr-finder").WithTags("Learning-rate finder");

        group.MapPost("/", Submit).WithName("SubmitLearningRateFinder")
            .WithSummary("Find a learning rate (fastai's lr_find)")
            .WithDescription("Runs the problem (points, degree or model, loss, initial params, optimizer) once with a rate growing exponentially " +
                "from `startLearningRate` (1e-7) to `endLearningRate` (10) over `steps` (100) updates, smoothing the loss (β = 0.98) and stopping " +
                "when it exceeds 4× its best. Answers 202 with `Location`; `Prefer: wait=N` answers 201 with the curve and the suggestions " +
                "(`steep`: fastest fall; `minimum`: lowest smoothed loss ÷ 10) if it ended by then.")
            .Accepts<LearningRateFinderRequest>("application/json")
            .ProducesSubmissionProblems();

        group.MapGet("/{id}", Get).WithName("GetLearningRateFinder")
            .WithSummary("Get a learning-rate finder run")
            .WithDescription("Status and, once ended, the curve (rate, loss, smoothed loss per update) and the suggestions. `Prefer: wait=N` waits for the end. " +
                "`ETag` and `If-None-Match` spare a poller the body (304).")
            .WithETag()
            .ProducesProblem(StatusCodes.Status404NotFound);

        group.MapGet("/{id}/plot.svg", Plot).WithName("GetLearningRateFinderPlot")
            .WithSummary("Picture of the finder's curve (SVG)")
            .WithDescription("Smoothed and raw loss against the learning rate on a log axis, with both suggestions marked.")
            .Produces<string>(StatusCodes.Status200OK, PlotEndpoints.SvgMediaType)
            .ProducesProblem(StatusCodes.Status404NotFound);

        group.MapDelete("/{id}", Delete).WithName("DeleteLearningRateFinder")
            .WithSummary("Delete a learning-rate finder run")
            .WithDescription("`204`: the run is cancelled if it has not ended, then removed with its points and curve; its id is then `404`.")
            .ProducesProblem(StatusCodes.Status404NotFound);

        return group;
    }

    public static async Task<Results<Created<LearningRateFinderResource>, Accepted<LearningRateFinderResource>, ValidationProblem, ProblemHttpResult>> Submit(
        HttpContext http, IFitStore store, FitSubmitter submitter, IFitSignals signals, SubmissionGuard guard, TimeProvider clock, IOptions<LimitsOptions> limits,
        CancellationToken ct)
    {
        var read = await FitRequestReader.ReadJsonAsync<LearningRateFinderRequest>(http.Request, limits.Value, ct);
        if (read.Request is not { } request)
        {
            return read.Errors is { } readErrors
                ? FitEndpoints.Invalid(readErrors)
                : read.Problem();
        }
        var errors = new ValidationErrors();
        var key = IdempotencyKey.Read(http.Request, errors);
        if (LearningRateFinderValidator.Validate(request, limits.Value, errors) is not var (spec, x, y) || errors.Any) return FitEndpoints.Invalid(errors);

        var tenant = http.Tenant();
        // A sweep is a fit's work as far as the tenant's bounds go.
        if (await guard.CheckAsync(http, tenant, [spec.ToFitSpec()], ct) is { } refused) return refused;
        var stored = await submitter.SubmitFinderRunAsync(tenant, spec, x, y, key, ct);
        SubmissionGuard.Stored(http);
        var created = stored.Fit!;
        // Fits and finder runs share the table and so the keys: a fit's key is never a finder run's replay.
        if (stored.Outcome == CreateOutcome.Conflict || created.Kind != FitKinds.LearningRateFinder)
            return IdempotencyKey.Conflict(key!, created.Kind == FitKinds.LearningRateFinder ? "learning-rate finder run" : "fit", created.Id);
        if (stored.Outcome == CreateOutcome.Existing) IdempotencyKey.MarkReplayed(http.Response);

        var location = $"/v1/lr-finder/{created.Id}";
        if (PreferWait.Parse(http.Request, limits.Value.MaxWaitSeconds) is { } wait)
        {
            var ended = await FitEndpoints.WaitForEndAsync(signals, clock, created.Id, wait, token => store.GetFinderRunAsync(tenant, created.Id, token), ct) ?? created;
            if (ended.Status.IsEnded())
            {
                http.Response.Headers["Preference-Applied"] = $"wait={wait}";
                return TypedResults.Created(location, ToResource(ended));
            }
        }
        http.Response.Headers.RetryAfter = "1";
        return TypedResults.Accepted(location, ToResource(created));
    }

    public static async Task<Results<Ok<LearningRateFinderResource>, ProblemHttpResult>> Get(
        string id, HttpContext http, IFitReader store, IFitSignals signals, TimeProvider clock, IOptions<LimitsOptions> limits, CancellationToken ct)
    {
        var wait = PreferWait.Parse(http.Request, limits.Value.MaxWaitSeconds) ?? 0;
        var tenant = http.Tenant();
        var run = await FitEndpoints.WaitForEndAsync(signals, clock, id, wait, token => store.GetFinderRunAsync(tenant, id, token), ct);
        return run is null ? NotFound(id) : TypedResults.Ok(ToResource(run));
    }

    public static async Task<Results<ContentHttpResult, ProblemHttpResult>> Plot(string id, HttpContext http, IFitReader store, CancellationToken ct)
    {
        var run = await store.GetFinderRunAsync(http.Tenant(), id, ct);
        if (run is null) return NotFound(id);
        var resource = ToResource(run);
        http.Response.Headers.CacheControl = "no-cache";
        return TypedResults.Text(LearningRateFinderPlot.Render(resource), PlotEndpoints.SvgMediaType, Encoding.UTF8);
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> Delete(
        string id, HttpContext http, IFitStore store, FitCancellations cancellations, TimeProvider clock, CancellationToken ct)
    {
        var tenant = http.Tenant();
        if (await store.GetFinderRunAsync(tenant, id, ct) is null) return NotFound(id);
        if (await store.RequestCancelAsync(tenant, id, clock.GetUtcNow(), ct) == CancelOutcome.Requested) cancellations.Cancel(id);
        return await store.DeleteAsync(tenant, id, ct) ? TypedResults.NoContent() : NotFound(id);
    }

    public static LearningRateFinderResource ToResource(FitRecord run)
    {
        var finder = FitOutcome.FromJson(run.OutcomeJson)?.Finder;
        return new LearningRateFinderResource
        {
            Id = run.Id,
            Status = run.Status.ToWire(),
            StopReason = run.StopReason,
            CreatedAt = run.CreatedAt,
            StartedAt = run.StartedAt,
            FinishedAt = run.FinishedAt,
            Error = run.Error,
            Label = run.Label,
            Suggested = finder?.Suggested,
            Suggestions = finder is null ? null : new LearningRateSuggestions(finder.Steep, finder.Minimum),
            Curve = finder?.LearningRates.Select((rate, i) =>
                new FinderPoint(rate, FitMapper.FiniteOrNull(finder.Losses[i]), FitMapper.FiniteOrNull(finder.SmoothedLosses[i]))).ToList(),
            Request = StoredSpecs.Read<LearningRateFinderSpec>(run.RequestJson),
        };
    }

    public static ProblemHttpResult NotFound(string id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Learning-rate finder run not found",
            detail: string.Create(CultureInfo.InvariantCulture, $"There is no learning-rate finder run with id '{id}'."));
}
