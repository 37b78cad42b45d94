using Microsoft.Extensions.Options;

namespace FitService.Api.Storage;

/// <summary>
/// At start, SQLite's <c>PRAGMA quick_check</c> within <c>Storage:IntegrityCheckSeconds</c>: a corrupt file (or one
/// that is not a database) is reported to <see cref="StorageFaults"/>, so readiness is unhealthy from the first probe
/// and requests that meet it are 503. The process stays up to say so; PostgreSQL checks its own pages.
/// </summary>
public sealed class StorageIntegrityCheck(IServiceProvider services, StorageFaults faults, IOptions<StorageOptions> options, ILogger<StorageIntegrityCheck> logger)
    : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var seconds = options.Value.IntegrityCheckSeconds;
        if (seconds <= 0 || services.GetService<SqliteDatabase>() is not { } db || !File.Exists(db.Path)) return;
        try
        {
            var result = await db.QuickCheckAsync(TimeSpan.FromSeconds(seconds), cancellationToken);
            if (!result.Completed)
                logger.LogWarning("SQLite integrity check of {Path} did not finish within {Seconds} s (Storage:IntegrityCheckSeconds); starting unchecked", db.Path, seconds);
            else if (!result.IsOk)
                Corrupt(db.Path, string.Join("; ", result.Problems));
        }
        catch (Exception e) when (StorageFaults.IsCorruption(e))
        {
            Corrupt(db.Path, e.Message);
        }
    }

    private void Corrupt(string path, string problems)
    {
        faults.ReportCorruption($"the database file failed its integrity check: {problems}");
        logger.LogCritical("SQLite database {Path} is corrupt ({Problems}): readiness is unhealthy and requests that need storage answer 503. " +
                           "Restore it from a backup (or recover it with sqlite3 .recover) and restart", path, problems);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
