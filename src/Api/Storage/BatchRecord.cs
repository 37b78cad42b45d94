using System.Text.Json.Serialization;

namespace FitService.Api.Storage;

/// <summary>A batch to be stored with its fits (each fit's <see cref="NewFit.BatchId"/> is the batch's id).</summary>
/// <param name="Id">The batch's id.</param>
/// <param name="Tenant">Whose batch it is.</param>
/// <param name="CreatedAt">When it was accepted.</param>
/// <param name="Label">The client's label.</param>
/// <param name="RequestJson">Batch-level request fields (webhook) as JSON.</param>
/// <param name="IdempotencyKey">The client's <c>Idempotency-Key</c>, unique per tenant among batches; null without one.</param>
/// <param name="RequestHash">Identifies the request's content, to tell a replay from another request reusing the key.</param>
public sealed record NewBatch(string Id, string Tenant, DateTimeOffset CreatedAt, string? Label, string RequestJson,
    string? IdempotencyKey = null, string? RequestHash = null);

/// <summary>What became of a batch create: stored, or the batch an earlier request with the same key made (same content or not).</summary>
/// <param name="Outcome">Created, or the earlier batch (Existing: same content; Conflict: different).</param>
/// <param name="BatchId">The new batch's id, or the earlier one's.</param>
/// <param name="Stored">A new batch as stored, every fit queued (set by the submitter, so the answer need not read it back).</param>
public sealed record BatchCreateResult(CreateOutcome Outcome, string BatchId, [property: JsonIgnore] BatchRecord? Stored = null);

/// <summary>A stored batch: its fits in submission order and how many are in each status.</summary>
public sealed record BatchRecord
{
    public required string Id { get; init; }
    public required string Tenant { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public string? Label { get; init; }
    /// <summary>Batch-level request fields (webhook, defaults) as JSON.</summary>
    public required string RequestJson { get; init; }
    public required IReadOnlyList<string> FitIds { get; init; }
    public required IReadOnlyDictionary<FitStatus, int> Counts { get; init; }
    /// <summary>
    /// Each fit's status as read with <see cref="FitIds"/>, in their order (what <see cref="Counts"/> counts); empty when
    /// the record was made without them.
    /// </summary>
    [JsonIgnore]
    public IReadOnlyList<FitStatus> FitStatuses { get; init; } = [];

    public int Total => FitIds.Count;
    public int Ended => Counts.Where(c => c.Key.IsEnded()).Sum(c => c.Value);
    public bool IsEnded => Ended == Total;
}
