using System.Globalization;
using System.Text;
using System.Text.Json;
using FitService.Api.Auth;
using FitService.Api.Http;
using FitService.Api.Fits;
using FitService.Api.Security;
using FitService.Api.Jobs;
using FitService.Api.Notifications;
using FitService.Api.Storage;
using FitService.Api.Webhooks;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace FitService.Api.Batches;

public static class BatchEndpoints
{
    public static RouteGroupBuilder MapBatches(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/batches").WithTags("Batches");

        group.MapPost("/", Submit).WithName("SubmitBatch")
            .WithSummary("Submit many fits at once")
            .WithDescription("`{\"defaults\": {fit fields}, \"fits\": [{fit fields}, …]}`: each item overrides the defaults. " +
                "All or nothing: one invalid item rejects the whole batch (its errors are named `fits[i].field`) and nothing is stored. " +
                "Small fits run many per Hangfire job. A top-level `webhook` gets one signed `batch.completed` event when the last fit ends.")
            .Accepts<BatchRequest>("application/json")
            .ProducesSubmissionProblems();

        group.MapGet("/{id}", Get).WithName("GetBatch")
            .WithSummary("Get a batch's progress")
            .WithDescription("Counts by status and the fit ids. `Prefer: wait=N` answers as soon as every fit has ended, or after N seconds. " +
                "`ETag` and `If-None-Match` spare a poller the body (304).")
            .WithETag()
            .ProducesProblem(StatusCodes.Status404NotFound);

        group.MapGet("/{id}/results", GetResults).WithName("GetBatchResults")
            .WithSummary("A batch's results, one per fit")
            .WithDescription("JSON lines (`application/x-ndjson`, the default; each line a `BatchResult`) in item order, or `Accept: text/csv` for " +
                "`label,status,stopReason,loss,p0,p1,…` (params highest power first). q-values count; 406 when `Accept` allows neither.")
            .Produces<BatchResult>(StatusCodes.Status200OK, "application/x-ndjson")
            .Produces<string>(StatusCodes.Status200OK, "text/csv")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status406NotAcceptable);

        group.MapPost("/{id}/cancel", Cancel).WithName("CancelBatch")
            .WithSummary("Cancel every fit of a batch that has not ended")
            .WithDescription("`202` with the batch: its queued fits end as cancelled at once, its running fits within a moment, keeping " +
                "their progress. `409` when every fit of the batch has already ended.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        group.MapDelete("/{id}", Delete).WithName("DeleteBatch")
            .WithSummary("Delete a batch and all its fits (cancelling them first)")
            .WithDescription("`204`: fits still queued or running are cancelled (without webhooks), then the batch and its fits, with their points and histories, are removed; its id is then `404`.")
            .ProducesProblem(StatusCodes.Status404NotFound);

        return group;
    }

    public static async Task<Results<Accepted<BatchResource>, ValidationProblem, ProblemHttpResult>> Submit(
        HttpContext http, FitSubmitter submitter, SubmissionGuard guard, IFitReader store, WebhookUrlPolicy webhooks, IOptions<LimitsOptions> limitsOptions,
        CancellationToken ct)
    {
        var limits = limitsOptions.Value;
        var read = await FitRequestReader.ReadJsonAsync<BatchRequest>(http.Request, limits, ct);
        if (read.Request is not { } request)
        {
            return read.Errors is { } readErrors
                ? FitEndpoints.Invalid(readErrors)
                : read.Problem();
        }

        var errors = new ValidationErrors();
        var key = IdempotencyKey.Read(http.Request, errors);
        if (await BatchValidator.ValidateAsync(request, http.Tenant(), webhooks, limits, errors, ct) is not { } valid || errors.Any) return FitEndpoints.Invalid(errors);

        if (await guard.CheckAsync(http, http.Tenant(), valid.ConvertAll(v => v.Spec), ct) is { } refused) return refused;
        var created = await submitter.SubmitBatchAsync(http.Tenant(), valid, request.Label, new BatchSpec(request.Webhook), key, ct);
        SubmissionGuard.Stored(http);
        if (created.Outcome == CreateOutcome.Conflict) return IdempotencyKey.Conflict(key!, "batch", created.BatchId);
        if (created.Outcome == CreateOutcome.Existing) IdempotencyKey.MarkReplayed(http.Response);
        // A new batch is answered from what was stored, every fit counted queued (a big batch's first fits may be running
        // already: the next GET tells), rather than read back: 10,000 rows.
        if (created.Stored is { } stored) return TypedResults.Accepted($"/v1/batches/{created.BatchId}", ToResource(stored));
        // A replayed batch may have been deleted since: then the key names nothing, as a deleted fit's key does.
        return await store.GetBatchAsync(http.Tenant(), created.BatchId, ct) is { } earlier
            ? TypedResults.Accepted($"/v1/batches/{created.BatchId}", ToResource(earlier))
            : NotFound(created.BatchId);
    }

    public static async Task<Results<Ok<BatchResource>, ProblemHttpResult>> Get(
        string id, HttpContext http, IFitReader store, IFitSignals signals, TimeProvider clock, IOptions<LimitsOptions> limits, CancellationToken ct)
    {
        var tenant = http.Tenant();
        var batch = await store.GetBatchAsync(tenant, id, ct);
        if (batch is null) return NotFound(id);
        if (PreferWait.Parse(http.Request, limits.Value.MaxWaitSeconds) is { } wait && wait > 0 && !batch.IsEnded)
        {
            batch = await WaitForEndAsync(store, signals, clock, batch, TimeSpan.FromSeconds(wait), ct) ?? batch;
        }
        return TypedResults.Ok(ToResource(batch));
    }

    private static readonly string[] ResultMediaTypes = ["application/x-ndjson", "text/csv"];

    public static async Task<Results<PushStreamHttpResult, ContentHttpResult, ProblemHttpResult>> GetResults(
        string id, HttpContext http, IFitReader store, IOptions<JsonOptions> json, CancellationToken ct)
    {
        if (ContentNegotiation.Choose(http.Request, ResultMediaTypes) is not { } mediaType) return ContentNegotiation.NotAcceptable(ResultMediaTypes);
        var tenant = http.Tenant();
        if (await store.GetBatchAsync(tenant, id, ct) is null) return NotFound(id);
        var fits = await store.ListBatchFitsAsync(tenant, id, ct);
        var results = fits.Select((f, i) => new BatchResult(i, f.Id, f.Label, f.Status.ToWire(), f.StopReason, f.Loss, f.Params, f.Error)).ToList();

        if (mediaType == "text/csv")
        {
            var width = results.Max(r => r.Params?.Length ?? 0);
            var csv = new StringBuilder("label,status,stopReason,loss");
            for (var p = 0; p < width; p++) csv.Append(CultureInfo.InvariantCulture, $",p{p}");
            csv.Append('\n');
            foreach (var r in results)
            {
                csv.Append(CsvCell.Text(r.Label)).Append(',').Append(CsvCell.Text(r.Status)).Append(',').Append(CsvCell.Text(r.StopReason)).Append(',').Append(Number(r.Loss));
                for (var p = 0; p < width; p++) csv.Append(',').Append(r.Params is { } ps && p < ps.Length ? Number(ps[p]) : "");
                csv.Append('\n');
            }
            return TypedResults.Text(csv.ToString(), "text/csv", Encoding.UTF8);
        }

        var options = json.Value.SerializerOptions;
        return TypedResults.Stream(async stream =>
        {
            foreach (var result in results)
            {
                await JsonSerializer.SerializeAsync(stream, result, options, ct);
                await stream.WriteAsync(NewLine, ct);
            }
        }, "application/x-ndjson");
    }

    public static async Task<Results<Accepted<BatchResource>, ProblemHttpResult>> Cancel(
        string id, HttpContext http, IFitStore store, FitEndings endings, FitCancellations cancellations, TimeProvider clock, CancellationToken ct)
    {
        var tenant = http.Tenant();
        var batch = await store.GetBatchAsync(tenant, id, ct);
        if (batch is null) return NotFound(id);
        if (batch.IsEnded)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Batch already completed",
                detail: $"Every fit of batch '{id}' has ended; there is nothing to cancel.");
        }
        await CancelFitsAsync(store, signal => endings.EndedAsync(signal, FitStatus.Cancelled), cancellations, clock, tenant, batch, ct);
        return TypedResults.Accepted($"/v1/batches/{id}", ToResource((await store.GetBatchAsync(tenant, id, ct))!));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> Delete(
        string id, HttpContext http, IFitStore store, IFitSignals signals, FitCancellations cancellations, TimeProvider clock, CancellationToken ct)
    {
        var tenant = http.Tenant();
        var batch = await store.GetBatchAsync(tenant, id, ct);
        if (batch is null) return NotFound(id);
        // Fits about to be deleted end without a webhook: waiters hear of it, nothing else.
        await CancelFitsAsync(store, signal => { signals.Publish(signal); return Task.CompletedTask; }, cancellations, clock, tenant, batch, ct);
        return await store.DeleteBatchAsync(tenant, id, ct) ? TypedResults.NoContent() : NotFound(id);
    }

    private static async Task CancelFitsAsync(IFitSubmissions store, Func<FitSignal, Task> ended, FitCancellations cancellations, TimeProvider clock,
        string tenant, BatchRecord batch, CancellationToken ct)
    {
        foreach (var fitId in batch.FitIds)
        {
            switch (await store.RequestCancelAsync(tenant, fitId, clock.GetUtcNow(), ct))
            {
                case CancelOutcome.Cancelled:
                    await ended(new FitSignal(fitId, true, 0, null, null));
                    break;
                case CancelOutcome.Requested:
                    cancellations.Cancel(fitId);
                    break;
            }
        }
    }

    /// <summary>
    /// Waits on the end signal of every fit still going, starting from the statuses <paramref name="batch"/> was read with.
    /// Each round registers first and reads the fits again after, so an end published in between is seen in the store
    /// (and its waiter released) rather than waited for; that read also gives the batch's counts, and tells the next
    /// round which fits to wait for. Once every waited fit has signalled its end, one more read gives the counts, and a
    /// new round only if a fit is still going (one read of the batch's fits a round).
    /// </summary>
    private static async Task<BatchRecord?> WaitForEndAsync(IFitReader store, IFitSignals signals, TimeProvider clock, BatchRecord batch, TimeSpan wait,
        CancellationToken ct)
    {
        var started = clock.GetTimestamp();
        var fits = batch.FitStatuses.Count == batch.FitIds.Count
            ? [.. batch.FitIds.Zip(batch.FitStatuses)]
            : await store.ListBatchFitStatusesAsync(batch.Tenant, batch.Id, ct);
        while (true)
        {
            var waits = fits.Where(f => !f.Status.IsEnded()).Select(f => signals.WhenEnded(f.Id)).ToList();
            fits = await store.ListBatchFitStatusesAsync(batch.Tenant, batch.Id, ct);
            foreach (var fit in fits)
            {
                if (fit.Status.IsEnded()) signals.EndedSeen(fit.Id);
            }
            // No fits left: the batch is gone, or all its fits were deleted one by one (then it is ended).
            if (fits.Count == 0) return await store.GetBatchAsync(batch.Tenant, batch.Id, ct);
            var now = WithStatuses(batch, fits);
            var left = wait - clock.GetElapsedTime(started);
            if (now.IsEnded || left <= TimeSpan.Zero) return now;
            try
            {
                await Task.WhenAll(waits).WaitAsync(left, clock, ct);
            }
            catch (TimeoutException)
            {
                var last = await store.ListBatchFitStatusesAsync(batch.Tenant, batch.Id, ct);
                return last.Count > 0 ? WithStatuses(batch, last) : await store.GetBatchAsync(batch.Tenant, batch.Id, ct);
            }
            // Every fit waited on has ended: their signals are spent, so the read that says so needs none registered.
            fits = await store.ListBatchFitStatusesAsync(batch.Tenant, batch.Id, ct);
            if (fits.Count == 0) return await store.GetBatchAsync(batch.Tenant, batch.Id, ct);
            if (WithStatuses(batch, fits) is { IsEnded: true } ended) return ended;
        }
    }

    /// <summary>The batch with its fits' statuses as just read (a batch's own fields and its fits never change).</summary>
    private static BatchRecord WithStatuses(BatchRecord batch, IReadOnlyList<(string Id, FitStatus Status)> fits)
    {
        var counts = Enum.GetValues<FitStatus>().ToDictionary(s => s, _ => 0);
        foreach (var (_, status) in fits) counts[status]++;
        return batch with
        {
            FitIds = fits.Count == batch.FitIds.Count ? batch.FitIds : fits.Select(f => f.Id).ToList(),
            Counts = counts,
            FitStatuses = fits.Select(f => f.Status).ToList(),
        };
    }

    private static readonly ReadOnlyMemory<byte> NewLine = "\n"u8.ToArray();

    public static BatchResource ToResource(BatchRecord batch)
    {
        var c = batch.Counts;
        var counts = new BatchCounts(c[FitStatus.Queued], c[FitStatus.Running], c[FitStatus.Succeeded], c[FitStatus.Failed], c[FitStatus.Cancelled]);
        var status = batch.IsEnded ? "completed" : counts.Queued == batch.Total ? "queued" : "running";
        var progress = batch.Total == 0 ? 1 : (double)batch.Ended / batch.Total;
        return new BatchResource(batch.Id, status, batch.Total, counts, progress, batch.FitIds, batch.CreatedAt, batch.Label);
    }

    public static ProblemHttpResult NotFound(string id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Batch not found", detail: $"There is no batch with id '{id}'.");

    private static string Number(double? value) => value is { } v && double.IsFinite(v) ? v.ToString("R", CultureInfo.InvariantCulture) : "";
}
