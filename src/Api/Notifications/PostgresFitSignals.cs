using System.Text.Json;
using System.Threading.Channels;
using Npgsql;

namespace FitService.Api.Notifications;

/// <summary>
/// Fit signals across every process of a shared PostgreSQL database, through LISTEN/NOTIFY on the channel
/// <see cref="Channel"/>: <see cref="Publish"/> delivers in this process at once and sends a small NOTIFY (id, ended,
/// step, loss, params), batched; one dedicated connection listens, reconnecting when it is lost, and delivers what other
/// processes publish. So an API process answers <c>Prefer: wait</c> and streams progress of fits run by worker processes
/// without polling. After a reconnect, waiters are woken to read the store again (signals may have been missed meanwhile).
/// </summary>
public sealed class PostgresFitSignals : BackgroundService, IFitSignals
{
    public const string Channel = "fit_events";

    /// <summary>Where processes announce the Hangfire jobs they enqueue (payload: the queue), to wake idle workers elsewhere.</summary>
    public const string JobsChannel = "fit_jobs";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private readonly InProcessFitSignals _local = new();
    private readonly Channel<FitSignal> _outgoing =
        System.Threading.Channels.Channel.CreateBounded<FitSignal>(new BoundedChannelOptions(100_000) { FullMode = BoundedChannelFullMode.DropOldest });
    private readonly Channel<string> _announced =
        System.Threading.Channels.Channel.CreateBounded<string>(new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest });
    private readonly Action<string>? _jobAnnounced;
    private readonly bool _hearsFitSignals;
    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly string _origin = Guid.NewGuid().ToString("N")[..12];
    private readonly NpgsqlDataSource _dataSource;
    private readonly ILogger<PostgresFitSignals> _logger;

    /// <param name="connectionString">The shared database.</param>
    /// <param name="logger">For lost connections and malformed signals.</param>
    /// <param name="jobAnnounced">Called with the queue of every job any process announces (<see cref="AnnounceJob"/>); null when this process runs no workers.</param>
    /// <param name="hearsFitSignals">
    /// This process listens to the other processes' fit signals: false where it serves no API (a worker process), since only
    /// requests wait for an end or watch progress; every end of every process would otherwise come to it, to be parsed and
    /// dropped. It still publishes its own.
    /// </param>
    public PostgresFitSignals(string connectionString, ILogger<PostgresFitSignals> logger, Action<string>? jobAnnounced = null, bool hearsFitSignals = true)
    {
        _jobAnnounced = jobAnnounced;
        _hearsFitSignals = hearsFitSignals;
        // Its own small pool (sized by the caller, see ConnectionBudget): the listening connection is held for the life of the process.
        _dataSource = NpgsqlDataSource.Create(connectionString);
        _logger = logger;
    }

    public Task WhenEnded(string fitId) => _local.WhenEnded(fitId);

    public void EndedSeen(string fitId) => _local.EndedSeen(fitId);

    public IAsyncEnumerable<FitSignal> WatchAsync(string fitId, CancellationToken ct) => _local.WatchAsync(fitId, ct);

    public void Publish(FitSignal signal)
    {
        _local.Publish(signal);
        _outgoing.Writer.TryWrite(signal);
    }

    public void PublishHere(FitSignal signal) => _local.Publish(signal);

    /// <summary>
    /// The payload announcing the end of <paramref name="fitId"/> to the other processes, for the store to send with the
    /// commit that stores it (<see cref="Storage.PostgresFitStore.EndNotice"/>); this process hears it through
    /// <see cref="PublishHere"/>.
    /// </summary>
    public string EndNotice(string fitId, Storage.FitCompletion completion) =>
        Serialize(new FitSignal(fitId, true, completion.Step, completion.Loss, null));

    /// <summary>Tells every process that a job was enqueued on <paramref name="queue"/> (sent soon, in a batch; never blocks).</summary>
    public void AnnounceJob(string queue) => _announced.Writer.TryWrite(queue);

    /// <summary>
    /// Tells every worker process that small fits wait (<see cref="Jobs.DirectDrains.Announcement"/> on <see cref="JobsChannel"/>),
    /// now, in one statement; throws if the database does not take it, so that the caller tries again.
    /// </summary>
    public async Task AnnounceDrainAsync(CancellationToken ct)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        await using var notify = new NpgsqlCommand($"NOTIFY {JobsChannel}, '{Jobs.DirectDrains.Announcement}'", conn);
        await notify.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Starts listening before the process takes requests, so an early <c>Prefer: wait</c> misses nothing.</summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await base.StartAsync(cancellationToken);
        await Task.WhenAny(_listening.Task, Task.Delay(TimeSpan.FromSeconds(10), cancellationToken));
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _outgoing.Writer.TryComplete();
        _announced.Writer.TryComplete();
        await base.StopAsync(cancellationToken);
    }

    public override void Dispose()
    {
        base.Dispose();
        _dataSource.Dispose();
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Task.Run(() => ListenAsync(stoppingToken), stoppingToken), Task.Run(() => SendAsync(stoppingToken), stoppingToken),
            Task.Run(() => AnnounceAsync(stoppingToken), stoppingToken));

    private async Task ListenAsync(CancellationToken ct)
    {
        var delay = TimeSpan.FromMilliseconds(250);
        var connectedBefore = false;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await using var conn = await _dataSource.OpenConnectionAsync(ct);
                conn.Notification += (_, e) =>
                {
                    if (e.Channel == JobsChannel) _jobAnnounced?.Invoke(e.Payload.Split(' ')[0]);
                    else Receive(e.Payload);
                };
                var channels = string.Join("; ", new[] { _hearsFitSignals ? $"LISTEN {Channel}" : null, _jobAnnounced is null ? null : $"LISTEN {JobsChannel}" }.OfType<string>());
                if (channels.Length == 0)
                {
                    // Neither requests nor workers here: nothing to hear.
                    _listening.TrySetResult();
                    return;
                }
                await using (var listen = new NpgsqlCommand(channels, conn)) await listen.ExecuteNonQueryAsync(ct);
                if (connectedBefore) _logger.LogInformation("Listening to fit signals again");
                connectedBefore = true;
                // Whoever started waiting before this LISTEN may have missed its signal: read the store again. So may the
                // drains of this worker process: small fits announced meanwhile are claimed now, not at the next sweep.
                _local.WakeWaiters();
                _jobAnnounced?.Invoke(Jobs.DirectDrains.Announcement);
                delay = TimeSpan.FromMilliseconds(250);
                _listening.TrySetResult();
                while (true)
                {
                    // A quiet half minute: make sure the connection still lives (a dead one would wait forever).
                    if (!await conn.WaitAsync(TimeSpan.FromSeconds(30), ct))
                    {
                        await using var ping = new NpgsqlCommand("SELECT 1", conn);
                        await ping.ExecuteScalarAsync(ct);
                    }
                }
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                _logger.LogWarning(e, "Lost the fit signal connection; reconnecting in {Delay}", delay);
                await Task.Delay(delay, ct).ContinueWith(_ => { }, CancellationToken.None);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Fit signals to the other processes, up to 256 per statement.</summary>
    private Task SendAsync(CancellationToken ct) =>
        NotifyInBatchesAsync(_outgoing.Reader, 256, Serialize, Channel, "SELECT pg_notify(@channel, p) FROM unnest(@payloads) AS p", "fit signals", ct);

    /// <summary>
    /// One NOTIFY per announced job, numbered ("queue n"): identical payloads in one transaction would be folded into one
    /// notification, and each must wake one worker.
    /// </summary>
    private Task AnnounceAsync(CancellationToken ct) =>
        NotifyInBatchesAsync(_announced.Reader, 64, queue => queue, JobsChannel,
            "SELECT pg_notify(@channel, p || ' ' || n) FROM unnest(@payloads) WITH ORDINALITY AS t(p, n)", "job announcements", ct);

    /// <summary>
    /// Drains <paramref name="source"/> in batches of at most <paramref name="most"/>, each one statement (<paramref name="sql"/>, with
    /// <c>@channel</c> and <c>@payloads</c>). A batch that cannot be sent is logged and dropped: waiters fall back on their timeouts and
    /// workers on their queue poll, and the store stays the truth.
    /// </summary>
    private async Task NotifyInBatchesAsync<T>(ChannelReader<T> source, int most, Func<T, string> payload, string channel, string sql, string what,
        CancellationToken ct)
    {
        var batch = new List<string>(most);
        try
        {
            while (await source.WaitToReadAsync(ct))
            {
                batch.Clear();
                while (batch.Count < most && source.TryRead(out var item)) batch.Add(payload(item));
                try
                {
                    await using var conn = await _dataSource.OpenConnectionAsync(ct);
                    await using var notify = new NpgsqlCommand(sql, conn);
                    notify.Parameters.AddWithValue("channel", channel);
                    notify.Parameters.AddWithValue("payloads", batch.ToArray());
                    await notify.ExecuteNonQueryAsync(ct);
                }
                catch (Exception e) when (!ct.IsCancellationRequested)
                {
                    _logger.LogWarning(e, "Could not send {Count} {What}", batch.Count, what);
                    await Task.Delay(TimeSpan.FromSeconds(1), ct);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>The longest payload PostgreSQL takes in a NOTIFY is one byte less than this.</summary>
    public const int MaxPayloadBytes = 8000;

    /// <summary>
    /// An end goes without its params (whoever hears of an end reads the fit from the store), and so does progress whose
    /// params would not fit in a NOTIFY (a network's): a payload too long would fail the statement that carries it, and
    /// every other signal of its batch with it. Watchers in other processes then read the progress from the store.
    /// </summary>
    private string Serialize(FitSignal s)
    {
        var payload = JsonSerializer.Serialize(new Wire(_origin, s.FitId, s.Ended, s.Step, s.Loss, s.Ended ? null : s.Params), Json);
        return s.Ended || System.Text.Encoding.UTF8.GetByteCount(payload) < MaxPayloadBytes
            ? payload
            : JsonSerializer.Serialize(new Wire(_origin, s.FitId, s.Ended, s.Step, s.Loss, null), Json);
    }

    private void Receive(string payload)
    {
        try
        {
            var w = JsonSerializer.Deserialize<Wire>(payload, Json);
            if (w is null || w.O == _origin) return; // our own, already delivered here
            _local.Publish(new FitSignal(w.F, w.E, w.S, w.L, w.P));
        }
        catch (JsonException e)
        {
            _logger.LogWarning(e, "Ignored a malformed fit signal");
        }
    }

    /// <summary>The NOTIFY payload, kept short (PostgreSQL allows 8000 bytes): origin, fit, ended, step, loss, params.</summary>
    private sealed record Wire(string O, string F, bool E, int S, double? L, double[]? P);
}
