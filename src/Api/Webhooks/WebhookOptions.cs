namespace FitService.Api.Webhooks;

/// <summary>How fit webhooks are signed, sent and retried (<c>Webhooks:*</c>).</summary>
public sealed class WebhookOptions
{
    public const string Section = "Webhooks";

    /// <summary>The schedule when <see cref="Backoff"/> is not configured: 8 attempts over 1 day 7 h.</summary>
    public static readonly TimeSpan[] DefaultBackoff =
    [
        TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(10), TimeSpan.FromHours(1),
        TimeSpan.FromHours(6), TimeSpan.FromHours(12), TimeSpan.FromHours(12),
    ];

    /// <summary>Signs every event: <c>whsec_</c> + base64 of at least 24 random bytes.</summary>
    public string? SigningSecret { get; set; }

    /// <summary>During a rotation the old secret also signs, so receivers can switch at their own pace.</summary>
    public string? PreviousSigningSecret { get; set; }

    /// <summary>Hosts (exact names) or addresses / CIDR ranges that webhooks may reach although internal.</summary>
    public string[]? AllowedHosts { get; set; }

    /// <summary>Only https URLs; null means true unless the service runs in local mode (no <c>Auth:Keys</c>).</summary>
    public bool? RequireHttps { get; set; }

    /// <summary>Longest one attempt may take, connect to last byte read.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Waits before the 2nd, 3rd, … attempt; after the last one the event is given up.</summary>
    public TimeSpan[]? Backoff { get; set; }

    /// <summary>Each wait is scaled by a random factor in [1 − j, 1 + j] so receivers recovering from an outage are not hit all at once.</summary>
    public double Jitter { get; set; } = 0.2;

    /// <summary>At most this much of a receiver's answer is read.</summary>
    public int MaxResponseBytes { get; set; } = 4096;

    /// <summary>Events carry the fit's history only up to this many entries (else <c>GET /v1/fits/{id}/history</c> pages it).</summary>
    public int MaxHistoryInPayload { get; set; } = 10_000;

    /// <summary>Hangfire workers for deliveries (their own server and queue, so receivers and fits never wait on each other).</summary>
    public int Workers { get; set; } = 8;

    /// <summary>How often overdue or lost deliveries are looked for (besides once at start).</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(30);

    public IReadOnlyList<TimeSpan> EffectiveBackoff => Backoff is { Length: > 0 } b ? b : DefaultBackoff;
}
