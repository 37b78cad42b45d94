using FitService.Api.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace FitService.Api.Health;

/// <summary>Ready when the store answers within the check's time and is not known to be corrupt.</summary>
public sealed class StorageHealthCheck(IFitStore store, StorageFaults faults) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (faults.Corruption is { } corruption) return HealthCheckResult.Unhealthy($"storage is corrupt: {corruption}");
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            await store.PingAsync(timeout.Token);
            return HealthCheckResult.Healthy("storage answers");
        }
        catch (Exception e)
        {
            if (StorageFaults.IsCorruption(e)) faults.ReportCorruption(e.Message);
            return HealthCheckResult.Unhealthy("storage does not answer", e);
        }
    }
}
