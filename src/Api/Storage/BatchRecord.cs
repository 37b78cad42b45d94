namespace FitService.Api.Storage;

/// <summary>A batch to be stored with its fits (each fit's <see cref="NewFit.BatchId"/> is the batch's id).</summary>
public sealed record NewBatch(string Id, string Tenant, DateTimeOffset CreatedAt, string? Label, string RequestJson);

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

    public int Total => FitIds.Count;
    public int Ended => Counts.Where(c => c.Key.IsEnded()).Sum(c => c.Value);
    public bool IsEnded => Ended == Total;
}
