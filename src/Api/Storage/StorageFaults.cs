using Microsoft.Data.Sqlite;
using Npgsql;

namespace FitService.Api.Storage;

/// <summary>
/// Faults of the storage that retrying does not heal: a corrupt database (a damaged page, a file that is not a
/// database). Noticed by the integrity check at start or by any request that meets one; readiness then reports
/// unhealthy until the file is repaired and the process restarted.
/// </summary>
public sealed class StorageFaults
{
    private const int SqliteCorrupt = 11, SqliteNotADatabase = 26;
    private string? _corruption;

    /// <summary>Why the database is known to be corrupt, or null.</summary>
    public string? Corruption => Volatile.Read(ref _corruption);

    /// <summary>Records the first corruption seen; later ones add nothing an operator needs.</summary>
    public void ReportCorruption(string reason) => Interlocked.CompareExchange(ref _corruption, reason, null);

    /// <summary>SQLite's SQLITE_CORRUPT and SQLITE_NOTADB, PostgreSQL's data_corrupted and index_corrupted, anywhere in the chain.</summary>
    public static bool IsCorruption(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is SqliteException { SqliteErrorCode: SqliteCorrupt or SqliteNotADatabase }
                or PostgresException { SqlState: "XX001" or "XX002" }) return true;
        }
        return false;
    }
}
