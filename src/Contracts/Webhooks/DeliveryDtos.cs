namespace FitService.Contracts;

/// <summary>A fit's webhook: the event, where it stands, and every attempt to deliver it.</summary>
public sealed record DeliveryList
{
    /// <summary>The receiver's URL; null when the fit asked for no webhook.</summary>
    public string? Url { get; init; }

    /// <summary>The <c>webhook-id</c> header of every attempt; null until the fit has ended.</summary>
    public string? WebhookId { get; init; }

    /// <summary><c>fit.succeeded</c>, <c>fit.failed</c> or <c>fit.cancelled</c>; null until the fit has ended.</summary>
    public string? Type { get; init; }

    /// <summary><c>pending</c> (more attempts to come), <c>delivered</c> (a 2xx), <c>gone</c> (410: no more attempts) or <c>failed</c> (the retry schedule ran out); null until the fit has ended.</summary>
    public string? State { get; init; }

    /// <summary>When the next attempt is due, while pending.</summary>
    public DateTimeOffset? NextAttemptAt { get; init; }

    /// <summary>The attempts, first to last.</summary>
    public required IReadOnlyList<DeliveryAttemptDto> Items { get; init; }
}

/// <summary>One attempt to deliver a webhook.</summary>
/// <param name="Attempt">1 for the first attempt, counting on across redeliveries.</param>
/// <param name="At">When it started.</param>
/// <param name="StatusCode">The receiver's HTTP status; null when there was none (see <c>error</c>).</param>
/// <param name="Error">Why there was no status: a timeout, a refused address, a network error.</param>
/// <param name="DurationMs">From connecting to reading the answer, in milliseconds.</param>
public sealed record DeliveryAttemptDto(int Attempt, DateTimeOffset At, int? StatusCode, string? Error, long DurationMs);

/// <summary>Progress of a running fit, as the <c>progress</c> server-sent event carries it.</summary>
/// <param name="Step">Updates done.</param>
/// <param name="Loss">Latest recorded loss; null when not finite.</param>
/// <param name="Params">Parameters after <c>step</c> updates, highest power first.</param>
public sealed record FitProgressEvent(int Step, double? Loss, double[]? Params);
