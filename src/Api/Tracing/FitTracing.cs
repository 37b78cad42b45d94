using System.Diagnostics;

namespace FitService.Api.Tracing;

/// <summary>
/// The service's spans (activity source <c>FitService</c>). One fit is one trace: the API request that accepted it
/// stores its W3C <c>traceparent</c> with the fit, and every later hop — the worker's run of the fit, the engine, each
/// webhook attempt (which sends a <c>traceparent</c> header) — continues that trace from the stored value, in whichever
/// process it happens and however long after.
/// </summary>
public static class FitTracing
{
    public const string SourceName = "FitService";

    /// <summary>The W3C header a webhook attempt carries, so the receiver can join the fit's trace.</summary>
    public const string TraceParentHeader = "traceparent";

    private static readonly ActivitySource Source = new(SourceName);

    /// <summary>The current span as a W3C <c>traceparent</c> (to store with a fit), or null outside any W3C span.</summary>
    public static string? CurrentTraceParent() =>
        Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current.Id : null;

    /// <summary>A worker's run of a fit, continuing the trace of the request that submitted it.</summary>
    public static Activity? StartRun(string fitId, int attempt, string? traceParent)
    {
        var activity = StartFrom("fit.run", ActivityKind.Consumer, traceParent);
        activity?.SetTag("fit.id", fitId);
        activity?.SetTag("fit.attempt", attempt);
        return activity;
    }

    /// <summary>The engine's part of a run (a child of the current span).</summary>
    public static Activity? StartEngine(string fitId) => Source.StartActivity("fit.engine")?.SetTag("fit.id", fitId);

    /// <summary>One webhook attempt, in the trace of the fit it reports on.</summary>
    public static Activity? StartWebhook(string eventId, string subjectId, int attempt, string? traceParent)
    {
        var activity = StartFrom("webhook.deliver", ActivityKind.Client, traceParent);
        activity?.SetTag("webhook.id", eventId);
        activity?.SetTag("fit.id", subjectId);
        activity?.SetTag("webhook.attempt", attempt);
        return activity;
    }

    /// <summary>
    /// A span whose parent is the stored <paramref name="traceParent"/>; a missing or unreadable one (a fit stored
    /// before traces were kept) starts a trace of its own rather than failing the work.
    /// </summary>
    private static Activity? StartFrom(string name, ActivityKind kind, string? traceParent)
    {
        // Not Activity.Current: a job thread may carry whatever span ran on it last.
        var parent = ActivityContext.TryParse(traceParent, null, isRemote: true, out var stored) ? stored : default;
        return Source.StartActivity(name, kind, parent);
    }
}
