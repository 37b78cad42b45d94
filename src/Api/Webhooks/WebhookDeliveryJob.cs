using System.Globalization;
using System.Text;
using FitService.Api.Storage;
using FitService.Api.Tracing;
using Hangfire;
using Microsoft.Extensions.Options;
using Serilog.Context;

namespace FitService.Api.Webhooks;

/// <summary>
/// One delivery attempt of one event. Reentrant: it claims the attempt in the store first, so a duplicated job, a
/// recovery pass or another process finds nothing to do. A 2xx ends the event, 410 Gone ends it for good, anything
/// else schedules the next attempt on <see cref="WebhookOptions.Backoff"/> (with jitter) until the schedule runs out.
/// The schedule is ours rather than Hangfire's AutomaticRetry, which only catches our own infrastructure errors.
/// </summary>
public sealed class WebhookDeliveryJob(
    IDeliveryStore deliveries,
    IFitReader fits,
    IDeliveryQueue queue,
    WebhookSender sender,
    IWebhookSecrets secrets,
    IOptions<WebhookOptions> options,
    TimeProvider clock,
    ILogger<WebhookDeliveryJob> logger,
    Metrics.FitMetrics metrics)
{
    /// <summary>A claim outlives the attempt's deadline by this much before another worker may take over.</summary>
    public static readonly TimeSpan ClaimMargin = TimeSpan.FromSeconds(15);

    /// <summary>Hangfire keeps schedule times in whole seconds, so a scheduled attempt may start up to a second early.</summary>
    public static readonly TimeSpan EarlyTolerance = TimeSpan.FromSeconds(2);

    [Queue(HangfireDeliveryQueue.Queue)]
    [AutomaticRetry(Attempts = 3)]
    [JobDisplayName("webhook {0}")]
    public async Task DeliverAsync(string eventId, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var claim = await deliveries.TryClaimAsync(eventId, now, now + EarlyTolerance, ClaimUntil(now, options.Value), cancellationToken);
        if (claim is not null) await SendAsync(claim, known: null, cancellationToken);
    }

    /// <summary>Until when an attempt claimed at <paramref name="now"/> stays claimed (its holder may die): past its deadline.</summary>
    public static DateTimeOffset ClaimUntil(DateTimeOffset now, WebhookOptions settings) => now + settings.Timeout + ClaimMargin;

    /// <param name="claim">The attempt, claimed by this process.</param>
    /// <param name="known">The event's fit as its creator knew it (it exists; its trace parent), or null to read it.</param>
    /// <param name="cancellationToken">Stops the attempt.</param>
    public async Task SendAsync(AttemptClaim claim, KnownFit? known, CancellationToken cancellationToken)
    {
        var e = claim.Event;
        var eventId = e.Id;
        using var _ = LogContext.PushProperty("WebhookId", eventId);
        var settings = options.Value;

        var fit = e.Type == BatchCompletedEvents.Type || known is not null ? null : await fits.GetForWorkerAsync(e.FitId, cancellationToken);
        var subjectExists = known is not null || (e.Type == BatchCompletedEvents.Type
            ? await fits.GetBatchAsync(e.Tenant, e.FitId, cancellationToken) is not null
            : fit is not null);
        if (!subjectExists)
        {
            logger.LogInformation("{Subject} {FitId} was deleted; its webhook {WebhookId} is dropped",
                e.Type == BatchCompletedEvents.Type ? "Batch" : "Fit", e.FitId, eventId);
            await deliveries.DeleteEventAsync(eventId, cancellationToken);
            return;
        }

        // The attempt joins the fit's trace and tells the receiver so (a batch's event starts a trace of its own).
        var fitTraceParent = known is not null ? known.Value.TraceParent : fit?.TraceParent;
        using var span = FitTracing.StartWebhook(eventId, e.FitId, claim.Attempt, fitTraceParent);
        var body = Encoding.UTF8.GetBytes(e.Payload);
        var timestamp = clock.GetUtcNow().ToUnixTimeSeconds();
        var headers = new Dictionary<string, string>
        {
            ["webhook-id"] = e.Id,
            ["webhook-timestamp"] = timestamp.ToString(CultureInfo.InvariantCulture),
            ["webhook-signature"] = WebhookSigner.Header(secrets.KeysFor(e.Tenant), e.Id, timestamp, body),
        };
        if ((span?.Id ?? fitTraceParent) is { } traceParent) headers[FitTracing.TraceParentHeader] = traceParent;
        var started = clock.GetUtcNow();
        var outcome = await sender.SendAsync(new Uri(e.Url), headers, body, cancellationToken);
        metrics.WebhookAttempted();
        if (outcome.StatusCode is not (>= 200 and < 300)) metrics.WebhookFailed();

        var (state, next) = outcome.StatusCode switch
        {
            >= 200 and < 300 => (DeliveryState.Delivered, (DateTimeOffset?)null),
            StatusCodes.Status410Gone => (DeliveryState.Gone, null),
            _ => NextAttempt(claim.AttemptInRound, settings),
        };
        await deliveries.RecordAttemptAsync(eventId,
            new DeliveryAttempt(claim.Attempt, started, outcome.Duration, outcome.StatusCode, outcome.Error), state, next, CancellationToken.None);
        if (next is { } at) queue.Schedule(eventId, at);

        logger.Log(state == DeliveryState.Failed ? LogLevel.Warning : LogLevel.Information,
            "Webhook {WebhookId} attempt {Attempt} to {Url}: {Outcome} in {Ms:0} ms; now {State}{Next}",
            eventId, claim.Attempt, e.Url, outcome.StatusCode?.ToString(CultureInfo.InvariantCulture) ?? outcome.Error,
            outcome.Duration.TotalMilliseconds, state.ToWire(), next is null ? "" : $", next attempt at {next:O}");
    }

    private (DeliveryState, DateTimeOffset?) NextAttempt(int attemptInRound, WebhookOptions settings)
    {
        var schedule = settings.EffectiveBackoff;
        if (attemptInRound > schedule.Count) return (DeliveryState.Failed, null);
        var wait = schedule[attemptInRound - 1] * (1 + settings.Jitter * (2 * Random.Shared.NextDouble() - 1));
        return (DeliveryState.Pending, clock.GetUtcNow() + wait);
    }
}

/// <summary>What the creator of a fit's event knew of the fit, so that its first attempt need not read it again.</summary>
/// <param name="TraceParent">The fit's stored <c>traceparent</c>, if any.</param>
public readonly record struct KnownFit(string? TraceParent);
