namespace FitService.Api.Storage;

/// <summary>
/// In worker processes of the shared store, every <see cref="Interval"/>: has PostgreSQL analyze the tables that grow with
/// every fit while their statistics lag far behind them (<see cref="PostgresFitStore.RefreshYoungStatisticsAsync"/>), so
/// that statements prepared while the database was new are planned again for the tables they now search. A failed round
/// is logged and tried again at the next.
/// </summary>
public sealed class YoungTableStatistics(PostgresFitStore store, TimeProvider clock, ILogger<YoungTableStatistics> logger) : BackgroundService
{
    /// <summary>How often the statistics are compared with the tables' sizes: one small catalog query.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var analyzed = await store.RefreshYoungStatisticsAsync(stoppingToken);
                if (analyzed.Count > 0) logger.LogInformation("Statistics of {Tables} refreshed for the plans of a young database", string.Join(", ", analyzed));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Could not refresh the statistics of the growing tables; trying again in {Interval}", Interval);
            }
        }
    }
}
