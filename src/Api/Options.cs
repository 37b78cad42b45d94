namespace FitService.Api;

/// <summary>Where fits are stored (<c>Storage:*</c>).</summary>
public sealed class StorageOptions
{
    public const string Section = "Storage";

    /// <summary><c>sqlite</c> (embedded, one machine) or <c>postgres</c> (shared by many processes).</summary>
    public string Provider { get; set; } = "sqlite";

    /// <summary>For sqlite a file path relative to the content root.</summary>
    public string ConnectionString { get; set; } = "Data Source=data/fitservice.db";

    /// <summary>Longest the SQLite integrity check (<c>PRAGMA quick_check</c>) at start may take; 0 skips it.</summary>
    public int IntegrityCheckSeconds { get; set; } = 10;

    /// <summary>
    /// PostgreSQL: single fits submitted at once are inserted many to a statement. Off by default: on one machine with the
    /// database on loopback it cost CPU and gained nothing (docs/throughput.md); it is for a database whose commits wait
    /// on a disk or a network.
    /// </summary>
    public bool GroupInserts { get; set; }

    /// <summary>
    /// Embedded store: how long the in-memory Hangfire queue keeps a job that ended (succeeded or deleted; failed jobs stay),
    /// for the dashboard. The fit's outcome is in the store, and nothing but the dashboard reads an ended job.
    /// </summary>
    public int EndedJobRetentionSeconds { get; set; } = 60;

    /// <summary>
    /// Embedded store: SQLite's memory in this process, all connections together (its soft heap limit, in MB). Each pooled
    /// reader keeps its own page cache of up to 2 MB, and the pool grows with the peak of concurrent reads; above this
    /// limit SQLite reuses cached pages rather than allocating more. 0 leaves SQLite unlimited.
    /// </summary>
    public int SqliteMemoryMegabytes { get; set; } = 32;

    /// <summary>
    /// Embedded store: reader connections SQLite's pool keeps at most. The pool otherwise keeps as many as were ever open at
    /// once, and each holds native memory for the life of the process; reads beyond this many open a connection of their
    /// own and close it after. 0: no bound.
    /// </summary>
    public int SqlitePooledReaders { get; set; } = 16;

    /// <summary>
    /// Embedded store: the write-ahead log's length (MB) at which the writer starts it over. Committed pages are copied
    /// from the log into the file beside the writer; the longer the log, the less often the writer itself waits for that
    /// copy. The log file takes up to about this much disk beside the database. At least 1.
    /// </summary>
    public int SqliteLogMegabytes { get; set; } = Storage.WalCheckpointer.DefaultLogMegabytes;

    public bool IsPostgres => string.Equals(Provider, "postgres", StringComparison.OrdinalIgnoreCase);
}

/// <summary>Hangfire workers in this process (<c>Workers:*</c>).</summary>
public sealed class WorkersOptions
{
    public const string Section = "Workers";

    /// <summary>Worker threads; 0 makes an API-only process.</summary>
    public int Count { get; set; } = Environment.ProcessorCount;

    /// <summary>
    /// Embedded store: a fit submitted with <c>Prefer: wait</c> whose work (points × steps × params, plus its exact
    /// optimum) is at most this runs on the request itself rather than through the queue (about a millisecond of
    /// engine time at the default); 0 queues every fit.
    /// </summary>
    public double InlineFitWork { get; set; } = 1_000_000;

    // The rest applies to Storage:Provider=postgres, where fits are leased from the shared store (docs/scale-out.md).

    /// <summary>How long a worker's claim on a fit lasts without renewal; a fit whose worker died runs again after this.</summary>
    public int LeaseSeconds { get; set; } = 30;

    /// <summary>
    /// Fits whose work (points × steps × params) is at most this run together in drain jobs; larger ones get a Hangfire
    /// job each. Drains claim by points × steps at most this, so every fit queued as small is one a drain takes.
    /// </summary>
    public long SmallFitWork { get; set; } = 2_000_000;

    /// <summary>
    /// How a process that stored small fits has them drained: <c>true</c> announces them (one NOTIFY at most every 50 ms)
    /// and every worker process drains at once, with no Hangfire job (<see cref="Jobs.DirectDrains"/>); <c>false</c>
    /// enqueues a Hangfire drain job, as before. Worker processes take both, whatever their own setting.
    /// </summary>
    public bool DirectDrains { get; set; } = true;

    /// <summary>Small fits a drain job claims at once.</summary>
    public int ChunkSize { get; set; } = 32;

    /// <summary>
    /// How often an idle Hangfire worker looks at the shared queue. Jobs enqueued by any process wake a worker at once
    /// (NOTIFY), so this only bounds the delay of a missed wake-up; each poll is a few queries per worker thread.
    /// </summary>
    public int QueuePollMilliseconds { get; set; } = 2000;

    public TimeSpan Lease => TimeSpan.FromSeconds(Math.Max(1, LeaseSeconds));

    /// <summary>How often worker processes look for expired leases and fits without a job: half a lease.</summary>
    public TimeSpan SweepInterval => Lease / 2;

    /// <summary>A big fit queued this long is handed out again, in case its job was lost: ten leases.</summary>
    public TimeSpan OrphanAge => Lease * 10;
}

/// <summary>The HTTP API of this process (<c>Api:*</c>).</summary>
public sealed class ApiOptions
{
    public const string Section = "Api";

    /// <summary><c>false</c> makes a worker-only process: no endpoints but health.</summary>
    public bool Enabled { get; set; } = true;
}

/// <summary>Request limits (<c>Limits:*</c>).</summary>
public sealed class LimitsOptions
{
    public const string Section = "Limits";

    public int MaxPoints { get; set; } = 1_000_000;
    public int MaxSteps { get; set; } = 10_000_000;
    public int MaxLabelLength { get; set; } = 200;

    /// <summary>
    /// Most history entries a fit resource carries inline (GET, <c>Prefer: wait</c>, the SSE end event, cancel, webhooks):
    /// the first ones; the resource says when there are more (<c>historyTruncated</c>) and the rest is paged from
    /// <c>/v1/fits/{id}/history</c>. Keeps every answer small whatever <c>steps</c> is.
    /// </summary>
    public int MaxInlineHistory { get; set; } = 1_000;

    /// <summary>Most features (values a row of x) of a network model's points.</summary>
    public int MaxFeatures { get; set; } = 1024;

    /// <summary>Most params of a network model: they are stored with the fit and carried inline by the resource (flat and by layer).</summary>
    public int MaxNetworkParams { get; set; } = 100_000;

    /// <summary>Most fits in one batch.</summary>
    public int MaxBatchFits { get; set; } = 10_000;

    /// <summary>Longest <c>Prefer: wait</c> honoured, in seconds.</summary>
    public int MaxWaitSeconds { get; set; } = 60;

    /// <summary>Largest points × steps × (degree + 1) of one fit; beyond it a fit is 422 (about a quarter hour to an hour of one worker).</summary>
    public long MaxWork { get; set; } = 1_000_000_000_000;

    /// <summary>
    /// Largest points × params of the work a request does while its client waits (<c>POST /v1/evaluate</c>,
    /// <c>POST /v1/fits/{id}/predict</c>); beyond it the request is 422 (a second or two of one core).
    /// </summary>
    public long MaxRequestWork { get; set; } = 100_000_000;

    /// <summary>Queued plus running fits one tenant may have; a submission beyond it is 429 with <c>Retry-After</c>.</summary>
    public int MaxActiveFitsPerTenant { get; set; } = 10_000;

    /// <summary>
    /// How long, in milliseconds, a tenant's count of active fits is reused (with this process's own submissions added)
    /// while the tenant stays below half its <see cref="MaxActiveFitsPerTenant"/>; 0 counts on every submission.
    /// </summary>
    public int ActiveCountReuseMilliseconds { get; set; } = 100;

    /// <summary>
    /// Requests per second one tenant may make under <c>/v1</c> (token bucket); 0 turns rate limiting off. Unset: 1,000
    /// when API keys are configured (tenants share the service, and one must not starve the others); off in the local
    /// mode, whose one anonymous tenant on loopback would only be held below what the service itself can do.
    /// </summary>
    public int? RequestsPerSecond { get; set; }

    /// <summary>The rate limit in force: <see cref="RequestsPerSecond"/>, or its default for the mode.</summary>
    public int RequestsPerSecondFor(bool localMode) => RequestsPerSecond ?? (localMode ? 0 : DefaultRequestsPerSecond);

    public const int DefaultRequestsPerSecond = 1000;

    /// <summary>Requests a tenant may make at once above the steady rate (the bucket's size).</summary>
    public int RequestBurst { get; set; } = 2000;

    /// <summary>Longest string in a JSON body, in bytes (labels, names, URLs; points are numbers).</summary>
    public int MaxJsonStringBytes { get; set; } = 4096;

    /// <summary>Time a client has to send its request headers before Kestrel closes the connection.</summary>
    public int RequestHeadersTimeoutSeconds { get; set; } = 10;

    /// <summary>Slowest request body Kestrel accepts (after a 5 s grace period); slower clients are cut off.</summary>
    public int MinRequestBodyBytesPerSecond { get; set; } = 240;

    /// <summary>
    /// Bytes of large request bodies held at once (read and parsed, until the answer is sent); null = two of the largest
    /// (<see cref="MaxRequestBytes"/>). A body that finds no room within <see cref="BodyWaitSeconds"/> is 503.
    /// </summary>
    public long? MaxBodyBytesInFlight { get; set; }

    /// <summary>Longest wait of a large body for room under <see cref="MaxBodyBytesInFlight"/>, in seconds.</summary>
    public double BodyWaitSeconds { get; set; } = 15;

    /// <summary><see cref="MaxBodyBytesInFlight"/> as configured, or its default.</summary>
    public long BodyBytesInFlight => MaxBodyBytesInFlight ?? 2 * MaxRequestBytes;

    /// <summary>Request body limit: room for every point written out in full, plus the other fields.</summary>
    public long MaxRequestBytes => 64L * MaxPoints + 1_048_576;
}

/// <summary>How long ended fits are kept (<c>Retention:*</c>); a sweep in worker processes removes older ones, with their points and history.</summary>
public sealed class RetentionOptions
{
    public const string Section = "Retention";

    /// <summary>Days a succeeded fit is kept after its end; 0 keeps them forever.</summary>
    public double SucceededDays { get; set; } = 30;

    /// <summary>Days a failed fit is kept (longer: someone may be looking into why).</summary>
    public double FailedDays { get; set; } = 90;

    /// <summary>Days a cancelled fit is kept.</summary>
    public double CancelledDays { get; set; } = 30;

    /// <summary>Fits removed per statement: each delete is short, so writers never wait long behind it.</summary>
    public int BatchSize { get; set; } = 500;

    /// <summary>Seconds between sweeps.</summary>
    public int IntervalSeconds { get; set; } = 60;

    /// <summary>
    /// Per-tenant retention (<c>Retention:Tenants:{tenant}:SucceededDays</c>, …): a value set here replaces the default
    /// above for that tenant's fits; one left unset keeps the default.
    /// </summary>
    public Dictionary<string, TenantRetention> Tenants { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The days a status is kept by default (0: forever).</summary>
    public double DaysFor(Storage.FitStatus status) => status switch
    {
        Storage.FitStatus.Succeeded => SucceededDays,
        Storage.FitStatus.Failed => FailedDays,
        Storage.FitStatus.Cancelled => CancelledDays,
        _ => 0,
    };
}

/// <summary>One tenant's own retention (<c>Retention:Tenants:{tenant}:*</c>); null values take the defaults.</summary>
public sealed class TenantRetention
{
    /// <summary>Days this tenant's succeeded fits are kept; 0 keeps them forever.</summary>
    public double? SucceededDays { get; set; }

    /// <summary>Days this tenant's failed fits are kept; 0 keeps them forever.</summary>
    public double? FailedDays { get; set; }

    /// <summary>Days this tenant's cancelled fits are kept; 0 keeps them forever.</summary>
    public double? CancelledDays { get; set; }

    public double? DaysFor(Storage.FitStatus status) => status switch
    {
        Storage.FitStatus.Succeeded => SucceededDays,
        Storage.FitStatus.Failed => FailedDays,
        Storage.FitStatus.Cancelled => CancelledDays,
        _ => null,
    };
}
