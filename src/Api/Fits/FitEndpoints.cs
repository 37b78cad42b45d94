using System.Globalization;
using System.Text;
using FitService.Api.Auth;
using FitService.Api.Http;
using FitService.Api.Jobs;
using FitService.Api.Notifications;
using FitService.Api.Security;
using FitService.Api.Storage;
using FitService.Api.Webhooks;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace FitService.Api.Fits;

public static class FitEndpoints
{
    public const int DefaultListLimit = 50, MaxListLimit = 500, DefaultHistoryLimit = 1000, MaxHistoryLimit = 100_000;

    public static RouteGroupBuilder MapFits(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/fits").WithTags("Fits");

        group.MapPost("/", Submit).WithName("SubmitFit")
            .WithSummary("Submit a fit")
            .WithDescription("Stores the points and queues a gradient-descent fit (only `x` and `y` are required). Answers 202 with the queued fit, `Location` and `Retry-After`. " +
                "`Idempotency-Key` makes a retried request return the same fit (409 if the key was used with a different request). " +
                "`Prefer: wait=N` (N ≤ 60) waits up to N seconds and answers 201 with the finished fit if it ended by then. " +
                "Also accepts `text/csv` (comma, semicolon or tab; quoted fields; header optional) with the other fields as query parameters: `x` and `y` choose the columns by header name or 0-based index (default: the columns headed x and y, else the first two).")
            .Accepts<FitRequest>("application/json", "text/csv")
            .ProducesSubmissionProblems();

        group.MapGet("/", List).WithName("ListFits")
            .WithSummary("List fits, newest first")
            .WithDescription("Without history. Filter by `status` and `label`; page with `limit` (≤ 500) and the `next` cursor of the previous page.")
            .ProducesValidationProblem();

        group.MapGet("/{id}", Get).WithName("GetFit")
            .WithSummary("Get a fit")
            .WithDescription("Status, progress while running (step, params, loss, history so far) and the result once ended. " +
                "`Prefer: wait=N` answers as soon as the fit has ended, or after N seconds. The history inline is at most its first " +
                "`Limits:MaxInlineHistory` entries (default 1,000): beyond, `historyTruncated` is true and `historyNext` pages on. " +
                "`ETag` and `If-None-Match` spare a poller the body (304).")
            .WithETag()
            .ProducesProblem(StatusCodes.Status404NotFound);

        group.MapGet("/{id}/history", History).WithName("GetFitHistory")
            .WithSummary("Page through a fit's loss history")
            .WithDescription("Entry i is the loss before update i·historyEvery. JSON by default; `Accept: text/csv` gives `step,loss` CSV " +
                "(q-values count: `text/csv;q=0.5, application/json` is JSON). 406 when `Accept` allows neither.")
            .Produces<HistoryPage>(StatusCodes.Status200OK, "application/json")
            .Produces<string>(StatusCodes.Status200OK, "text/csv")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status406NotAcceptable);

        group.MapPost("/{id}/cancel", Cancel).WithName("CancelFit")
            .WithSummary("Cancel a queued or running fit")
            .WithDescription("202 with the fit (a running fit stops within a moment, keeping its progress); 409 if it had already ended.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        group.MapDelete("/{id}", Delete).WithName("DeleteFit")
            .WithSummary("Delete a fit")
            .WithDescription("Cancels it first if it is still queued or running, then removes it and its points and history.")
            .ProducesProblem(StatusCodes.Status404NotFound);

        return group;
    }

    public static async Task<Results<Created<FitResource>, Accepted<FitResource>, ValidationProblem, ProblemHttpResult>> Submit(
        HttpContext http, FitSubmitter submitter, SubmissionGuard guard, IFitReader store, IFitSignals signals, WebhookUrlPolicy webhooks,
        TimeProvider clock, IOptions<LimitsOptions> limits,
        CancellationToken ct)
    {
        var read = await FitRequestReader.ReadAsync(http.Request, limits.Value, ct);
        if (read.Request is null)
        {
            // Unknown fields do not hide the other errors: the rest of the body is validated as well.
            if (read is { Errors: { } unknownFields, Partial: { } rest })
            {
                FitValidator.Validate(rest, limits.Value, unknownFields);
                return Invalid(unknownFields);
            }
            return read.Errors is { } readErrors
                ? Invalid(readErrors)
                : read.Problem();
        }
        var errors = new ValidationErrors();
        var key = IdempotencyKey.Read(http.Request, errors);
        var valid = FitValidator.Validate(read.Request, limits.Value, errors);
        var tenant = http.Tenant();
        if (valid?.Spec.Webhook?.Url is { } webhookUrl) await webhooks.CheckAsync(tenant, webhookUrl, errors, ct);
        if (valid is null || errors.Any) return Invalid(errors);

        if (await guard.CheckAsync(http, tenant, [valid.Spec], ct) is { } refused) return refused;
        var wait = PreferWait.Parse(http.Request, limits.Value.MaxWaitSeconds);
        var created = await submitter.SubmitAsync(tenant, valid, key, ct, waiting: wait > 0);
        SubmissionGuard.Stored(http);
        if (created.Outcome == CreateOutcome.Conflict) return IdempotencyKey.Conflict(key!, "fit", created.Fit!.Id);
        if (created.Outcome == CreateOutcome.Existing) IdempotencyKey.MarkReplayed(http.Response);

        var fit = created.Fit!;
        var location = $"/v1/fits/{fit.Id}";
        if (wait is { } seconds)
        {
            // A fit that ran on this request comes back ended with its whole history: nothing to wait for or read again.
            if (!(created.Outcome == CreateOutcome.Created && fit.Status.IsEnded() && fit.History is not null))
                fit = await WaitForEndAsync(store, signals, clock, tenant, fit.Id, seconds, limits.Value.MaxInlineHistory, ct) ?? fit;
            if (fit.Status.IsEnded())
            {
                http.Response.Headers["Preference-Applied"] = $"wait={seconds}";
                return TypedResults.Created(location, FitMapper.ToResource(fit, limits.Value.MaxInlineHistory));
            }
        }
        http.Response.Headers.RetryAfter = RetryAfterSeconds(valid.Spec).ToString(CultureInfo.InvariantCulture);
        return TypedResults.Accepted(location, FitMapper.ToResource(fit with { History = fit.History ?? [] }, limits.Value.MaxInlineHistory));
    }

    public static async Task<Results<Ok<FitResource>, ProblemHttpResult>> Get(
        string id, HttpContext http, IFitReader store, IFitSignals signals, TimeProvider clock, EndedFitResources ended, IOptions<LimitsOptions> limits, CancellationToken ct)
    {
        var wait = PreferWait.Parse(http.Request, limits.Value.MaxWaitSeconds) ?? 0;
        var fit = await WaitForEndAsync(store, signals, clock, http.Tenant(), id, wait, limits.Value.MaxInlineHistory, ct);
        return fit is null ? NotFound(id) : TypedResults.Ok(ended.Of(fit, limits.Value.MaxInlineHistory));
    }

    public static async Task<Results<Ok<FitList>, ValidationProblem>> List(
        HttpContext http, IFitReader store, ParsedFitSpecs specs, string? status, string? label, int? limit, string? cursor, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        FitStatus? statusFilter = null;
        if (status is not null)
        {
            if (FitStatusExtensions.TryParseWire(status, out var parsed)) statusFilter = parsed;
            else errors.Add("status", "must be one of queued, running, succeeded, failed, cancelled");
        }
        var take = limit ?? DefaultListLimit;
        if (take is < 1 or > MaxListLimit) errors.Add("limit", $"must be between 1 and {MaxListLimit}");
        long? before = null;
        if (cursor is not null)
        {
            if (DecodeCursor(cursor) is { } seq) before = seq;
            else errors.Add("cursor", "is not a cursor this service issued");
        }
        if (errors.Any) return Invalid(errors);

        var fits = await store.ListAsync(http.Tenant(), new FitQuery(statusFilter, label, take + 1, before), ct);
        // Lists carry no history, so the cap has nothing to cut.
        var page = fits.Take(take).Select(f => FitMapper.ToResource(f, 0, specs.Of(f))).ToList();
        var next = fits.Count > take ? EncodeCursor(fits[take - 1].Seq) : null;
        return TypedResults.Ok(new FitList(page, next));
    }

    private static readonly string[] HistoryMediaTypes = ["application/json", "text/csv"];

    public static async Task<Results<Ok<HistoryPage>, ContentHttpResult, ValidationProblem, ProblemHttpResult>> History(
        string id, HttpContext http, IFitReader store, int? offset, int? limit, CancellationToken ct)
    {
        if (ContentNegotiation.Choose(http.Request, HistoryMediaTypes) is not { } mediaType) return ContentNegotiation.NotAcceptable(HistoryMediaTypes);
        var errors = new ValidationErrors();
        var from = offset ?? 0;
        var take = limit ?? DefaultHistoryLimit;
        if (from < 0) errors.Add("offset", "must be ≥ 0");
        if (take is < 1 or > MaxHistoryLimit) errors.Add("limit", $"must be between 1 and {MaxHistoryLimit}");
        if (errors.Any) return Invalid(errors);

        var tenant = http.Tenant();
        var page = await store.GetHistoryAsync(tenant, id, from, take, ct);
        var fit = page is null ? null : await store.GetAsync(tenant, id, includeHistory: false, ct);
        if (page is null || fit is null) return NotFound(id);

        var every = fit.HistoryEvery;
        var entries = page.Value.Page.Select((loss, i) => new HistoryEntry((from + i) * every, FitMapper.FiniteOrNull(loss))).ToList();
        if (mediaType == "text/csv")
        {
            var csv = new StringBuilder("step,loss\n");
            foreach (var e in entries) csv.Append(CultureInfo.InvariantCulture, $"{e.Step},{e.Loss?.ToString("R", CultureInfo.InvariantCulture)}\n");
            return TypedResults.Text(csv.ToString(), "text/csv", Encoding.UTF8);
        }
        return TypedResults.Ok(new HistoryPage(from, take, page.Value.Total, every, entries));
    }

    public static async Task<Results<Accepted<FitResource>, ProblemHttpResult>> Cancel(
        string id, HttpContext http, IFitStore store, FitEndings endings, FitCancellations cancellations, TimeProvider clock,
        IOptions<LimitsOptions> limits, CancellationToken ct)
    {
        var tenant = http.Tenant();
        if (!await IsFitAsync(store, tenant, id, ct)) return NotFound(id);
        switch (await store.RequestCancelAsync(tenant, id, clock.GetUtcNow(), ct))
        {
            case CancelOutcome.NotFound:
                return NotFound(id);
            case CancelOutcome.AlreadyEnded:
                return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Fit already ended",
                    detail: $"Fit '{id}' has already ended; there is nothing to cancel.");
            case CancelOutcome.Cancelled:
                await endings.EndedAsync(new FitSignal(id, true, 0, null, null), FitStatus.Cancelled);
                break;
            case CancelOutcome.Requested:
                cancellations.Cancel(id);
                break;
        }
        var fit = await store.GetAsync(tenant, id, limits.Value.MaxInlineHistory, ct);
        return fit is null ? NotFound(id) : TypedResults.Accepted($"/v1/fits/{id}", FitMapper.ToResource(fit, limits.Value.MaxInlineHistory));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> Delete(
        string id, HttpContext http, IFitStore store, IFitSignals signals, FitCancellations cancellations, TimeProvider clock, CancellationToken ct)
    {
        var tenant = http.Tenant();
        if (!await IsFitAsync(store, tenant, id, ct)) return NotFound(id);
        if (await store.RequestCancelAsync(tenant, id, clock.GetUtcNow(), ct) == CancelOutcome.Requested) cancellations.Cancel(id);
        if (!await store.DeleteAsync(tenant, id, ct)) return NotFound(id);
        signals.Publish(new FitSignal(id, true, 0, null, null));
        return TypedResults.NoContent();
    }

    /// <summary>
    /// Reads the fit (with at most <paramref name="historyLimit"/> history entries), and if it has not ended waits (without
    /// polling) until it does or the time is up. A wake-up without the end (signals that may have been missed) reads the
    /// store again and waits on.
    /// </summary>
    public static Task<FitRecord?> WaitForEndAsync(
        IFitReader store, IFitSignals signals, TimeProvider clock, string tenant, string id, int seconds, int historyLimit, CancellationToken ct) =>
        WaitForEndAsync(signals, clock, id, seconds, token => store.GetAsync(tenant, id, historyLimit, token), ct);

    /// <summary>As above for any record the <paramref name="read"/> function finds (a fit, or a learning-rate finder run).</summary>
    public static async Task<FitRecord?> WaitForEndAsync(
        IFitSignals signals, TimeProvider clock, string id, int seconds, Func<CancellationToken, Task<FitRecord?>> read, CancellationToken ct)
    {
        var started = clock.GetTimestamp();
        while (true)
        {
            var ended = signals.WhenEnded(id);
            var fit = await read(ct);
            var left = TimeSpan.FromSeconds(seconds) - clock.GetElapsedTime(started);
            if (fit is not null && fit.Status.IsEnded()) signals.EndedSeen(id);
            if (fit is null || fit.Status.IsEnded() || left <= TimeSpan.Zero) return fit;
            try
            {
                await ended.WaitAsync(left, clock, ct);
            }
            catch (TimeoutException)
            {
                return await read(ct);
            }
        }
    }

    /// <summary>Whether the tenant has this fit (the store never answers a finder run here: under /v1/fits it is as missing).</summary>
    public static async Task<bool> IsFitAsync(IFitReader store, string tenant, string id, CancellationToken ct) =>
        await store.GetAsync(tenant, id, includeHistory: false, ct) is not null;

    /// <summary>Another tenant's fit and a missing one get the very same answer.</summary>
    public static ProblemHttpResult NotFound(string id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Fit not found", detail: $"There is no fit with id '{id}'.");

    /// <summary>
    /// The 400 of every invalid request: the first <see cref="ValidationErrors.MaxListed"/> errors by field, and beyond
    /// them <c>errorsOmitted</c>, the count of the rest (also said in <c>detail</c>).
    /// </summary>
    public static ValidationProblem Invalid(ValidationErrors errors) => errors.Omitted == 0
        ? TypedResults.ValidationProblem(errors.ToDictionary(), detail: "See errors for what each field must be.", title: "The request is invalid")
        : TypedResults.ValidationProblem(errors.ToDictionary(),
            detail: string.Create(CultureInfo.InvariantCulture,
                $"See errors for what each field must be; the first {ValidationErrors.MaxListed} are listed, and {errors.Omitted:N0} more were found."),
            title: "The request is invalid",
            extensions: new Dictionary<string, object?> { ["errorsOmitted"] = errors.Omitted });

    /// <summary>A rough guess of the run time from the work the fit asks for (points × steps × params), at least 1 s.</summary>
    private static int RetryAfterSeconds(FitSpec spec)
    {
        return (int)Math.Clamp(Math.Ceiling(FitWork.Of(spec) / 1e9), 1, 3600);
    }

    private static string EncodeCursor(long seq) => Convert.ToBase64String(Encoding.ASCII.GetBytes($"s{seq}")).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static long? DecodeCursor(string cursor)
    {
        try
        {
            var base64 = cursor.Replace('-', '+').Replace('_', '/');
            base64 = base64.PadRight(base64.Length + (4 - base64.Length % 4) % 4, '=');
            var text = Encoding.ASCII.GetString(Convert.FromBase64String(base64));
            return text.StartsWith('s') && long.TryParse(text.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var seq) ? seq : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
