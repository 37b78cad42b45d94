using FitService.Api.Jobs;
using FitService.Api.Notifications;
using Hangfire;
using Hangfire.InMemory;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Npgsql;

namespace FitService.Api.Storage;

/// <summary>What each <c>Storage:Provider</c> brings: the fit store, the host's Hangfire storage, how fits are queued and signalled.</summary>
public static class StorageRegistration
{
    /// <summary>
    /// Age at which a Hangfire lock row (<c>hangfire.lock</c>) counts as left behind: whoever waits for the lock deletes it
    /// and takes the lock. Hangfire holds its locks for milliseconds (a job's state change, a batch of expirations), so a
    /// live holder never comes near it.
    /// </summary>
    public static readonly TimeSpan HangfireLockTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Embedded, one process: SQLite (fits and webhook deliveries), Hangfire in memory (a job per fit, or per group of
    /// fits that queued up together), signals in process; at start the workers re-queue every unfinished fit, since
    /// the in-memory queue did not survive.
    /// </summary>
    public static IServiceCollection AddSqliteStorage(this IServiceCollection services, StorageOptions storage, WorkersOptions workers, string contentRoot)
    {
        // One SQLite file, one writer, shared with the webhook delivery store.
        services.AddSingleton(_ => new SqliteDatabase(storage.ConnectionString, contentRoot, storage.SqliteMemoryMegabytes, storage.SqlitePooledReaders,
            storage.SqliteLogMegabytes));
        services.AddFitStore(sp => new SqliteFitStore(sp.GetRequiredService<SqliteDatabase>()));
        services.AddSingleton<IDeliveryStore>(sp => new SqliteDeliveryStore(sp.GetRequiredService<SqliteDatabase>()));
        services.AddSingleton<IFitSignals, InProcessFitSignals>();
        services.AddSingleton<IFitQueue, HangfireFitQueue>();
        services.AddSingleton<JobStorage>(_ => new InMemoryStorage(new InMemoryStorageOptions
        {
            IdType = InMemoryStorageIdType.Long,
            // Hangfire keeps a succeeded job for a day, Hangfire.InMemory caps that at 3 hours: at a hundred fits a second on
            // idle workers (a job each) that is a million jobs in RAM, at ~2 KB each. The fits themselves live in SQLite;
            // the dashboard needs only the recent past (docs/throughput.md, "GET under load").
            MaxExpirationTime = TimeSpan.FromSeconds(storage.EndedJobRetentionSeconds),
        }));
        if (workers.Count > 0)
        {
            // Chunks' ends are stored off the workers; registered before the Hangfire server, so it stops after the workers.
            services.AddSingleton<ChunkEnds>();
            services.AddHostedService(sp => sp.GetRequiredService<ChunkEnds>());
            services.AddHostedService<FitRecovery>();
            // This process is the only one on the file: every pending optimum at start is one a stopped worker left.
            services.AddHostedService(sp => ActivatorUtilities.CreateInstance<PendingOptimumSweeper>(sp, TimeSpan.Zero));
        }
        return services;
    }

    /// <summary>
    /// Shared by many processes: PostgreSQL for the fits, the webhook deliveries and Hangfire (schema <c>hangfire</c>) in one database, signals
    /// through LISTEN/NOTIFY, fits run under leases (big ones one job each, small ones in drain jobs); worker processes sweep
    /// for fits whose worker died. See docs/scale-out.md.
    /// </summary>
    public static IServiceCollection AddPostgresStorage(this IServiceCollection services, StorageOptions storage, WorkersOptions workers, ConnectionBudget budget)
    {
        var connectionString = storage.ConnectionString;
        services.AddSingleton(budget);
        // Ends are announced by the statements that store them (a NOTIFY delivered with the commit).
        services.AddSingleton(sp => new PostgresFitStore(ConnectionBudget.Pool(connectionString, budget.Fits), sp.GetRequiredService<ILoggerFactory>(), workers.Lease, storage.GroupInserts)
        {
            EndNotice = sp.GetRequiredService<PostgresFitSignals>().EndNotice,
        });
        services.AddFitStore(sp => sp.GetRequiredService<PostgresFitStore>());
        services.AddSingleton<IFitLeases>(sp => new PostgresFitLeases(sp.GetRequiredService<PostgresFitStore>()));
        services.AddSingleton<IDeliveryStore>(sp => new PostgresDeliveryStore(ConnectionBudget.Pool(connectionString, budget.Deliveries), sp.GetRequiredService<ILoggerFactory>()));
        // Worker processes wake their idle Hangfire workers when any process announces a job, and drain when one announces small fits.
        services.AddSingleton(sp => new PostgresFitSignals(ConnectionBudget.Pool(connectionString, budget.Signals), sp.GetRequiredService<ILogger<PostgresFitSignals>>(),
            workers.Count > 0 ? WakeFor(sp) : null, hearsFitSignals: budget.ServesApi));
        services.AddSingleton<IFitSignals>(sp => sp.GetRequiredService<PostgresFitSignals>());
        services.AddHostedService(sp => sp.GetRequiredService<PostgresFitSignals>());
        services.AddSingleton<DrainKicker>();
        services.AddHostedService(sp => sp.GetRequiredService<DrainKicker>());
        services.AddSingleton<IFitQueue, LeasedFitQueue>();
        services.AddTransient<DrainJob>();
        services.AddSingleton<JobStorage>(sp =>
        {
            var options = HangfireOptions(workers);
            // No reset on close: Hangfire keeps no session state, and a DISCARD ALL per queue poll would be a third of an idle worker's queries.
            // Its statements repeat as the stores' do (a job is a dozen of them): prepared per connection, as the stores' pools do.
            var hangfireConnection = new NpgsqlConnectionStringBuilder(ConnectionBudget.Pool(connectionString, budget.Hangfire)) { NoResetOnClose = true };
            if (hangfireConnection.MaxAutoPrepare == 0) hangfireConnection.MaxAutoPrepare = PostgresSchema.AutoPrepared;
            var hangfire = hangfireConnection.ConnectionString;
            // Its constructor installs or checks Hangfire's schema: a database restarting just then is waited for.
            return StartupRetry.Run(() => new PostgreSqlStorage(new NpgsqlConnectionFactory(hangfire, options), options),
                "Preparing Hangfire's schema", sp.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(StartupRetry)));
        });
        // Every job this process enqueues is announced, so worker processes start it at once rather than at their next poll.
        services.AddSingleton<IBackgroundJobClient>(sp => new AnnouncingJobClient(
            new BackgroundJobClient(sp.GetRequiredService<JobStorage>()),
            sp.GetRequiredService<PostgresFitSignals>().AnnounceJob));
        if (workers.Count > 0)
        {
            services.AddSingleton<DirectDrains>();
            services.AddHostedService(sp => sp.GetRequiredService<DirectDrains>());
            services.AddHostedService<LeaseSweeper>();
            services.AddHostedService(sp => ActivatorUtilities.CreateInstance<YoungTableStatistics>(sp, sp.GetRequiredService<PostgresFitStore>()));
            // Other processes may be computing theirs: only optima pending for more than a lease are taken.
            services.AddHostedService(sp => ActivatorUtilities.CreateInstance<PendingOptimumSweeper>(sp, workers.Lease));
        }
        return services;
    }

    /// <summary>What a worker process does with an announcement: small fits are drained here, a job wakes an idle Hangfire worker.</summary>
    private static Action<string> WakeFor(IServiceProvider sp) => queue =>
    {
        // Resolved when the first announcement comes: the drains depend (through the endings) on the signals that call this.
        if (queue == DirectDrains.Announcement) sp.GetRequiredService<DirectDrains>().Wake();
        else HangfireWakeups.Wake(queue);
    };

    /// <summary>The one fit store, as itself and as each of its roles (consumers take the role they need).</summary>
    private static void AddFitStore(this IServiceCollection services, Func<IServiceProvider, IFitStore> store)
    {
        services.AddSingleton(store);
        services.AddSingleton<IFitReader>(sp => sp.GetRequiredService<IFitStore>());
        services.AddSingleton<IFitSubmissions>(sp => sp.GetRequiredService<IFitStore>());
        services.AddSingleton<IFitWork>(sp => sp.GetRequiredService<IFitStore>());
        services.AddSingleton<IFitRetention>(sp => sp.GetRequiredService<IFitStore>());
    }

    /// <summary>
    /// Hangfire.PostgreSql tuned for fits: the queue polled every <c>Workers:QueuePollMilliseconds</c> (an idle worker's
    /// main cost), while a job enqueued by any process wakes a worker at once (<see cref="AnnouncingJobClient"/>); a job whose worker died comes back after two leases, while a live worker keeps its jobs by
    /// sliding the invisibility timeout (without it, a job running longer than the timeout would run twice). Long polling
    /// stays off: it hung jobs in our measurements (docs/scale-out.md). A lock row left behind by a connection that died
    /// holding it (a database restart) is taken over after <see cref="HangfireLockTimeout"/> instead of the package's 10 minutes.
    /// </summary>
    public static PostgreSqlStorageOptions HangfireOptions(WorkersOptions workers) => new()
    {
        DistributedLockTimeout = HangfireLockTimeout,
        QueuePollInterval = TimeSpan.FromMilliseconds(Math.Max(50, workers.QueuePollMilliseconds)),
        InvisibilityTimeout = workers.Lease * 2,
        UseSlidingInvisibilityTimeout = true,
        PrepareSchemaIfNecessary = true,
        EnableLongPolling = false,
    };
}
