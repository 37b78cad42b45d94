using System.Security.Cryptography;
using System.Text.Json;
using FitService.Api.Jobs;
using FitService.Api.Metrics;
using FitService.Api.Storage;

namespace FitService.Api.Fits;

/// <summary>Stores a validated fit and queues it, honouring idempotency keys.</summary>
public sealed class FitSubmitter(IFitStore store, IFitQueue queue, FitMetrics metrics, TimeProvider clock)
{
    public async Task<CreateResult> SubmitAsync(string tenant, ValidFit fit, string? idempotencyKey, CancellationToken ct)
    {
        var requestJson = JsonSerializer.Serialize(fit.Spec, FitRequestReader.Strict);
        var newFit = new NewFit(Guid.CreateVersion7().ToString("N"), tenant, Truncate(clock.GetUtcNow()), requestJson, fit.X, fit.Y,
            fit.Spec.Steps, fit.Spec.HistoryEvery, fit.Spec.Label, idempotencyKey, Hash(requestJson, fit.X, fit.Y));
        var result = await store.CreateAsync(newFit, ct);
        if (result.Outcome == CreateOutcome.Created)
        {
            metrics.Submitted();
            queue.Enqueue(newFit.Id, FitWork.Of(fit.X.Length, fit.Spec.Steps));
        }
        return result;
    }

    /// <summary>Identifies a request by content (its normalised fields and its points), so equal requests match whatever their JSON spacing.</summary>
    public static string Hash(string requestJson, double[] x, double[] y)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(System.Text.Encoding.UTF8.GetBytes(requestJson));
        hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(x.AsSpan()));
        hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(y.AsSpan()));
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Times are kept to the millisecond, as the API shows them.</summary>
    public static DateTimeOffset Truncate(DateTimeOffset t) => DateTimeOffset.FromUnixTimeMilliseconds(t.ToUnixTimeMilliseconds());
}
