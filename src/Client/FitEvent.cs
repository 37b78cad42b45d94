using FitService.Contracts;

namespace FitService.Client;

/// <summary>One event of a fit's live stream (<c>GET /v1/fits/{id}/events</c>): <see cref="FitProgressed"/> while it runs, then one <see cref="FitEnded"/>.</summary>
/// <param name="EventId">The event's <c>id:</c> (the step); pass it back to resume after it.</param>
public abstract record FitEvent(string? EventId);

/// <summary>The fit made progress.</summary>
public sealed record FitProgressed(string? EventId, FitProgressEvent Progress) : FitEvent(EventId);

/// <summary>The fit ended; <see cref="Fit"/> is the whole resource, history included. The stream ends after it.</summary>
public sealed record FitEnded(string? EventId, FitResource Fit) : FitEvent(EventId);
