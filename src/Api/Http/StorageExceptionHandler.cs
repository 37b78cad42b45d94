using System.Globalization;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using FitService.Api.Storage;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace FitService.Api.Http;

/// <summary>
/// Storage faults are the storage's state, not a bug: a full disk is 507, a busy, locked, unreachable or corrupt
/// database is 503, all problem details with <c>Retry-After</c>. The write was one transaction, so nothing of it
/// remains. A corrupt database is also reported to <see cref="StorageFaults"/>, which turns readiness unhealthy.
/// </summary>
public sealed class StorageExceptionHandler(IProblemDetailsService problems, StorageFaults faults, ILogger<StorageExceptionHandler> logger) : IExceptionHandler
{
    private const int SqliteBusy = 5, SqliteLocked = 6, SqliteIoErr = 10, SqliteFull = 13, SqliteCantOpen = 14;
    private const int ENOSPC = 28;

    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken ct)
    {
        if (Classify(exception) is not { } fault) return false;
        if (fault == Corrupt) faults.ReportCorruption(exception.Message);
        logger.LogWarning("Storage fault answered {Status}: {Reason} ({Error})", fault.Status, fault.Title, exception.Message);
        if (http.Response.HasStarted) return false;
        http.Response.StatusCode = fault.Status;
        http.Response.Headers.RetryAfter = fault.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            Exception = exception,
            ProblemDetails = new ProblemDetails { Status = fault.Status, Title = fault.Title, Detail = fault.Detail },
        });
    }

    public sealed record Fault(int Status, string Title, string Detail, int RetryAfterSeconds);

    public static Fault? Classify(Exception exception)
    {
        if (StorageFaults.IsCorruption(exception)) return Corrupt;
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case SqliteException { SqliteErrorCode: SqliteFull }:
                case PostgresException { SqlState: PostgresErrorCodes.DiskFull }:
                case IOException when (e.HResult & 0xFFFF) == ENOSPC:
                    return Full;
                case SqliteException { SqliteErrorCode: SqliteBusy or SqliteLocked }:
                    return new Fault(StatusCodes.Status503ServiceUnavailable, "Storage busy",
                        "The database is locked by another process; nothing was stored. Retry shortly.", 2);
                case SqliteException { SqliteErrorCode: SqliteIoErr or SqliteCantOpen }:
                    return Unavailable;
                case PostgresException p when p.SqlState.StartsWith("08", StringComparison.Ordinal) || p.SqlState.StartsWith("57P", StringComparison.Ordinal)
                                              || p.SqlState == PostgresErrorCodes.TooManyConnections:
                case NpgsqlException { IsTransient: true }:
                case NpgsqlException { InnerException: System.Net.Sockets.SocketException or IOException or TimeoutException }:
                    return Unavailable;
            }
        }
        return null;
    }

    private static readonly Fault Corrupt = new(StatusCodes.Status503ServiceUnavailable, "Storage corrupt",
        "The service's database is damaged; nothing of this request was stored. The operator has to restore it.", 60);

    private static readonly Fault Full = new(StatusCodes.Status507InsufficientStorage, "Insufficient storage",
        "The service's storage is full; nothing of this request was stored. Retry later.", 30);

    private static readonly Fault Unavailable = new(StatusCodes.Status503ServiceUnavailable, "Storage unavailable",
        "The database cannot be reached; nothing of this request was stored. Retry shortly.", 5);
}
