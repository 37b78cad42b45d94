using System.Data.Common;

namespace FitService.Api.Storage;

/// <summary>The one reading of the webhook_events table for both delivery stores (times as in <see cref="FitRows"/>).</summary>
internal static class WebhookEventRows
{
    public const string Columns = "id, fit_id, tenant, url, type, payload, created_at, state, attempts, round_start, next_attempt_at, claimed_until";

    /// <summary>A row that starts with <see cref="Columns"/>.</summary>
    public static WebhookEvent Read(DbDataReader r, Func<DbDataReader, int, DateTimeOffset> time) => new()
    {
        Id = r.GetString(0),
        FitId = r.GetString(1),
        Tenant = r.GetString(2),
        Url = r.GetString(3),
        Type = r.GetString(4),
        Payload = r.GetString(5),
        CreatedAt = time(r, 6),
        State = (DeliveryState)r.GetInt32(7),
        Attempts = r.GetInt32(8),
        RoundStart = r.GetInt32(9),
        NextAttemptAt = r.IsDBNull(10) ? null : time(r, 10),
        ClaimedUntil = r.IsDBNull(11) ? null : time(r, 11),
    };
}
