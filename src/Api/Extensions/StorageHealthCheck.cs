using FitService.Api.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace FitService.Api.Extensions;

/// <summary>Ready when the store answers within the check's time.</summary>
public sealed class StorageHealthCheck(IFitStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            await store.PingAsync(timeout.Token);
            return HealthCheckResult.Healthy("storage answers");
        }
        catch (Exception e)
        {
            return HealthCheckResult.Unhealthy("storage does not answer", e);
        }
    }
}
