using System.Data.Common;
using System.Diagnostics;

namespace FitService.Api.Storage;

/// <summary>
/// Start-up work on the database (schema, recovery passes, Hangfire's schema) retried while the database is briefly away:
/// a process that starts while PostgreSQL restarts waits for it, as its requests and jobs would, instead of exiting. A fault
/// that is not transient, or one that lasts longer than <see cref="Patience"/>, still ends the start (an orchestrator restarts
/// the process; its log says why).
/// </summary>
public static class StartupRetry
{
    /// <summary>How long a start waits for the database to come back.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    public static async Task RunAsync(Func<CancellationToken, Task> work, string what, ILogger logger, CancellationToken ct) =>
        await RunAsync(async token => { await work(token); return true; }, what, logger, ct);

    public static async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> work, string what, ILogger logger, CancellationToken ct)
    {
        var waited = Stopwatch.StartNew();
        var delay = TimeSpan.FromMilliseconds(250);
        while (true)
        {
            try
            {
                return await work(ct);
            }
            catch (Exception e) when (IsTransient(e) && waited.Elapsed < Patience && !ct.IsCancellationRequested)
            {
                logger.LogWarning("{What} at start failed ({Error}); the database may be restarting: trying again in {Delay}", what, e.Message, delay);
                await Task.Delay(delay, ct);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    /// <summary>The synchronous form, for objects whose constructor talks to the database (Hangfire's storage).</summary>
    public static T Run<T>(Func<T> work, string what, ILogger logger) =>
        RunAsync(_ => Task.FromResult(work()), what, logger, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>A fault a moment later may not repeat: the database (or the connection to it) said so, or it could not be reached.</summary>
    public static bool IsTransient(Exception? e) => e switch
    {
        null => false,
        // 57P01–57P03 (shut down, crashed, starting) and class 08 (connection exceptions): the server is restarting.
        Npgsql.PostgresException pg when pg.SqlState.StartsWith("57P", StringComparison.Ordinal) || pg.SqlState.StartsWith("08", StringComparison.Ordinal) => true,
        DbException db => db.IsTransient || IsTransient(db.InnerException),
        System.Net.Sockets.SocketException or TimeoutException => true,
        AggregateException aggregate => aggregate.InnerExceptions.Any(IsTransient),
        _ => IsTransient(e.InnerException),
    };
}
