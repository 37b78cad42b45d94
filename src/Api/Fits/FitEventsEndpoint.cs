using System.Globalization;
using System.Reflection;
using System.Text.Json;
using FitService.Api.Auth;
using FitService.Api.Notifications;
using FitService.Api.Storage;
using FitService.Api.Webhooks;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;
using HttpJsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace FitService.Api.Fits;

public static class FitEventsEndpoint
{
    public static RouteHandlerBuilder MapFitEvents(this IEndpointRouteBuilder app) =>
        app.MapGet("/v1/fits/{id}/events", Events).WithTags("Fits").WithName("StreamFitEvents")
            .WithSummary("Follow a fit live (server-sent events)")
            .WithDescription("A `text/event-stream`: the current state first, then a `progress` event (`{step, loss, params}`, `id:` = step) " +
                "at most every ~250 ms while the fit runs, and finally one `end` event carrying the fit resource (as GET shows it, history capped), after which the stream closes. " +
                "An ended fit answers `end` at once. `Last-Event-ID` resumes after that step. Comment lines keep idle connections alive.")
            .ProducesProblem(StatusCodes.Status404NotFound);

    public static async Task<Results<FitEventStream, ProblemHttpResult>> Events(
        string id, HttpContext http, IFitReader store, IFitSignals signals, TimeProvider clock, IOptions<HttpJsonOptions> json,
        IOptions<LimitsOptions> limits, CancellationToken ct)
    {
        var tenant = http.Tenant();
        if (await store.GetAsync(tenant, id, includeHistory: false, ct) is null) return FitEndpoints.NotFound(id);
        var lastEventId = int.TryParse(http.Request.Headers["Last-Event-ID"], NumberStyles.None, CultureInfo.InvariantCulture, out var last) ? last : -1;
        return new FitEventStream(tenant, id, lastEventId, store, signals, clock, json.Value.SerializerOptions, limits.Value.MaxInlineHistory);
    }
}

/// <summary>Writes a fit's events until it ends or the client goes away.</summary>
public sealed class FitEventStream(
    string tenant, string id, int lastEventId, IFitReader store, IFitSignals signals, TimeProvider clock, JsonSerializerOptions json, int maxInlineHistory)
    : IResult, IEndpointMetadataProvider
{
    /// <summary>Without a signal for this long the store is read again (a fit running in another process sends none here).</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(15);

    public async Task ExecuteAsync(HttpContext http)
    {
        var response = http.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        if (Security.HeadRequests.IsHead(http)) return; // the headers a GET would get; a stream has no end to wait for
        var ct = http.RequestAborted;
        var lastSent = lastEventId;
        var lastWrite = clock.GetTimestamp();

        async Task SendAsync(string type, int eventId, object data)
        {
            var text = $"id: {eventId}\nevent: {type}\ndata: {JsonSerializer.Serialize(data, data.GetType(), json)}\n\n";
            await response.WriteAsync(text, ct);
            await response.Body.FlushAsync(ct);
            lastWrite = clock.GetTimestamp();
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var watch = signals.WatchAsync(id, stop.Token).GetAsyncEnumerator(stop.Token);
        // The first MoveNextAsync subscribes before the store is read, so an end in between is not missed.
        var next = watch.MoveNextAsync().AsTask();
        try
        {
            await response.Body.FlushAsync(ct);
            var fit = await store.GetAsync(tenant, id, includeHistory: false, ct);
            while (fit is not null && !ct.IsCancellationRequested)
            {
                if (fit.Status.IsEnded())
                {
                    var ended = await store.GetAsync(tenant, id, maxInlineHistory, ct);
                    if (ended is not null) await SendAsync("end", ended.Step, FitMapper.ToResource(ended, maxInlineHistory));
                    return;
                }
                if (fit.Step > lastSent && fit.Params is not null)
                {
                    await SendAsync("progress", fit.Step, new FitProgressEvent(fit.Step, fit.Loss, fit.Params));
                    lastSent = fit.Step;
                }

                // Follow the signals; read the store again only when they fall silent or announce the end.
                while (true)
                {
                    if (await Task.WhenAny(next, Task.Delay(PollInterval, clock, ct)) != next)
                    {
                        if (clock.GetElapsedTime(lastWrite) >= HeartbeatInterval)
                        {
                            await response.WriteAsync(": keep-alive\n\n", ct);
                            await response.Body.FlushAsync(ct);
                            lastWrite = clock.GetTimestamp();
                        }
                        break;
                    }
                    if (!await next) return;
                    var signal = watch.Current;
                    next = watch.MoveNextAsync().AsTask();
                    // An end, or progress that came from another process without its params (too many for a NOTIFY): read the store.
                    if (signal.Ended || signal.Params is null) break;
                    if (signal.Step > lastSent)
                    {
                        await SendAsync("progress", signal.Step, new FitProgressEvent(signal.Step, signal.Loss, signal.Params));
                        lastSent = signal.Step;
                    }
                }
                fit = await store.GetAsync(tenant, id, includeHistory: false, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // the client went away
        }
        finally
        {
            stop.Cancel();
            try { await next; } catch (OperationCanceledException) { }
            await watch.DisposeAsync();
        }
    }

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(string), ["text/event-stream"]));
}
