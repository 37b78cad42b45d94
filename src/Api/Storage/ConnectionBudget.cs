using Npgsql;

namespace FitService.Api.Storage;

/// <summary>
/// The most connections one process opens to the shared PostgreSQL database, pool by pool, from its role: each pool is
/// capped (a burst waits for a free connection rather than opening more) and gives idle connections back within a minute.
/// The sum over all processes must stay below the server's <c>max_connections</c> (docs/scale-out.md shows the arithmetic).
/// </summary>
/// <param name="Fits">The fit store: one per worker thread (a fit saves progress on its own), the API's requests, the sweep and drain kicks.</param>
/// <param name="Deliveries">The webhook delivery store: its delivery jobs and the API's delivery listings.</param>
/// <param name="Signals">LISTEN (held for the life of the process), NOTIFY of fit signals, NOTIFY of enqueued jobs.</param>
/// <param name="Hangfire">Hangfire's queue polls and state changes (one per worker thread of both servers) and its own background processes.</param>
/// <param name="ServesApi">The process serves the API (its requests wait for ends and watch progress).</param>
public sealed record ConnectionBudget(int Fits, int Deliveries, int Signals, int Hangfire, bool ServesApi = true)
{
    /// <summary>Connections an API process keeps for requests: each holds one for a few milliseconds, so a handful serves thousands a second.</summary>
    public const int ApiConnections = 8;

    /// <summary>Hangfire's heartbeats, schedulers, expiration and counter aggregation, and enqueues.</summary>
    public const int HangfireBackground = 3;

    /// <summary>Idle connections are closed after this, so a quiet process holds few.</summary>
    public const int IdleLifetimeSeconds = 60;

    public int Total => Fits + Deliveries + Signals + Hangfire;

    public static ConnectionBudget For(int fitWorkers, int webhookWorkers, bool api)
    {
        var runsWorkers = fitWorkers > 0;
        var webhooks = runsWorkers ? webhookWorkers : 0;
        return new ConnectionBudget(
            Fits: fitWorkers + (api ? ApiConnections : 0) + 2,
            Deliveries: Math.Min(webhooks, 4) + 2,
            Signals: 3,
            Hangfire: (runsWorkers ? fitWorkers + webhooks : 0) + HangfireBackground,
            ServesApi: api);
    }

    /// <summary>The connection string with this pool's cap and the idle lifetime.</summary>
    public static string Pool(string connectionString, int maxPoolSize) => new NpgsqlConnectionStringBuilder(connectionString)
    {
        MaxPoolSize = maxPoolSize,
        MinPoolSize = 0,
        ConnectionIdleLifetime = IdleLifetimeSeconds,
        ConnectionPruningInterval = 10,
    }.ConnectionString;
}
