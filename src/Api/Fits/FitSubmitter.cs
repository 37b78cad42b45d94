using System.Security.Cryptography;
using System.Text.Json;
using FitService.Api.Jobs;
using FitService.Api.Metrics;
using FitService.Api.Storage;
using FitService.Api.Tracing;

namespace FitService.Api.Fits;

/// <summary>Stores a validated fit and queues it, honouring idempotency keys.</summary>
public sealed class FitSubmitter(IFitSubmissions store, IFitQueue queue, InlineFits inline, FitMetrics metrics, TimeProvider clock)
{
    /// <param name="tenant">The fit's tenant.</param>
    /// <param name="fit">The validated fit.</param>
    /// <param name="idempotencyKey">The request's key, if any.</param>
    /// <param name="waiting">
    /// The client waits for the end (<c>Prefer: wait</c>): a small new fit then runs on this request and is stored once,
    /// ended (<see cref="InlineFits"/>); the fit in the result is then ended and carries its whole history. It goes to the
    /// queue only if it cannot run here.
    /// </param>
    /// <param name="ct">Cancels the request before the fit is stored.</param>
    public async Task<CreateResult> SubmitAsync(string tenant, ValidFit fit, string? idempotencyKey, CancellationToken ct, bool waiting = false)
    {
        var newFit = NewFit(NewId(), tenant, fit, clock.GetUtcNow(), idempotencyKey, batchId: null, FitTracing.CurrentTraceParent());
        var work = FitWork.Of(fit.Spec);
        var result = waiting && inline.Takes(work) ? await inline.TrySubmitAsync(newFit, ct) : null;
        if (result is null)
        {
            result = await store.CreateAsync(newFit, ct);
            if (result.Outcome == CreateOutcome.Created) metrics.Submitted();
        }
        // A replay of a fit that is still queued queues it again: the first enqueue may have failed after the insert, and
        // the client was told to retry with its key. Jobs are reentrant, so a second job for a queued fit does no harm.
        if (result is { Outcome: CreateOutcome.Created, Fit.Status: FitStatus.Queued } or { Outcome: CreateOutcome.Existing, Fit.Status: FitStatus.Queued })
        {
            Enqueue("fit", result.Fit!.Id, () => queue.EnqueueMany([new QueuedFit(result.Fit.Id, work)]));
        }
        return result;
    }

    /// <summary>
    /// Stores a batch and all its fits at once, then queues them in chunks. With an idempotency key the tenant already used
    /// for a batch, stores and queues nothing and names that batch.
    /// </summary>
    public async Task<BatchCreateResult> SubmitBatchAsync(string tenant, IReadOnlyList<ValidFit> fits, string? label, BatchSpec spec,
        string? idempotencyKey, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var requestJson = StoredSpecs.Content(spec);
        var batchId = NewId();
        var traceParent = FitTracing.CurrentTraceParent();
        var newFits = new NewFit[fits.Count];
        // Each fit's stored form and content hash (~5 µs) are its own, unless it is the very fit before it (the validator
        // hands every item that sets nothing the defaults' one fit): a big batch's are made on every core, a range at a
        // time, since nothing of the batch is stored, nor run, before they are.
        var ids = NewIds(fits.Count, now);
        void Make(int from, int to)
        {
            for (var i = from; i < to; i++)
            {
                newFits[i] = i > from && ReferenceEquals(fits[i], fits[i - 1])
                    ? newFits[i - 1] with { Id = ids[i] }
                    : NewFit(ids[i], tenant, fits[i], now, null, batchId, traceParent);
            }
        }
        if (fits.Count >= ParallelNewFits)
        {
            Parallel.For(0, (fits.Count + ParallelNewFits - 1) / ParallelNewFits, r => Make(r * ParallelNewFits, Math.Min(fits.Count, (r + 1) * ParallelNewFits)));
        }
        else Make(0, fits.Count);
        var batch = new NewBatch(batchId, tenant, Truncate(now), label, StoredSpecs.Stamp(requestJson), idempotencyKey, BatchHash(label, requestJson, newFits));
        var queued = newFits.Select((f, i) => new QueuedFit(f.Id, FitWork.Of(fits[i].Spec))).ToList();
        var handedOn = 0;
        List<QueuedFit>? notYetQueued = null;
        // A big batch's first fits may start while the rest are stored (the store commits them in slices; the batch is
        // accepted only once all are stored). Not when the batch or a fit has a webhook: no event may tell of a fit of a
        // batch that might yet fail to be stored, and a batch's completion is judged once it is whole.
        void Stored(int count)
        {
            var slice = queued.GetRange(handedOn, count - handedOn);
            handedOn = count;
            try
            {
                queue.EnqueueMany(slice);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Queued again below, once the batch is stored, where a failure is told as such.
                (notYetQueued ??= []).AddRange(slice);
            }
        }
        var created = spec.Webhook is not null || fits.Any(f => f.Spec.Webhook is not null)
            ? await store.CreateBatchAsync(batch, newFits, ct)
            : await store.CreateBatchAsync(batch, newFits, Stored, ct);
        if (created.Outcome != CreateOutcome.Created) return created;
        metrics.Submitted(newFits.Length);
        var rest = queued.GetRange(handedOn, queued.Count - handedOn);
        if (notYetQueued is not null) rest.InsertRange(0, notYetQueued);
        Enqueue("batch", batch.Id, () => queue.EnqueueMany(rest));
        var counts = Enum.GetValues<FitStatus>().ToDictionary(s => s, _ => 0);
        counts[FitStatus.Queued] = newFits.Length;
        return created with
        {
            Stored = new BatchRecord
            {
                Id = batch.Id, Tenant = tenant, CreatedAt = batch.CreatedAt, Label = label, RequestJson = batch.RequestJson,
                FitIds = [.. newFits.Select(f => f.Id)], Counts = counts, FitStatuses = [.. Enumerable.Repeat(FitStatus.Queued, newFits.Length)],
            },
        };
    }

    /// <summary>
    /// Stores a learning-rate finder run (a kind of its own in the fits' table: same ids, hashes, keys and trace) and queues
    /// it when new. The caller tells a key already used by a fit or a different run as a conflict.
    /// </summary>
    public async Task<CreateResult> SubmitFinderRunAsync(string tenant, LearningRateFinderSpec spec, double[] x, double[] y, string? idempotencyKey,
        CancellationToken ct)
    {
        var content = StoredSpecs.Content(spec);
        var run = new NewFit(NewId(), tenant, Truncate(clock.GetUtcNow()), StoredSpecs.Stamp(content), x, y, spec.Steps, 1, spec.Label,
            idempotencyKey, Hash(content, x, y), Kind: FitKinds.LearningRateFinder, TraceParent: FitTracing.CurrentTraceParent());
        var result = await store.CreateAsync(run, ct);
        if (result.Outcome == CreateOutcome.Created) Enqueue("learning-rate finder run", run.Id, () => queue.Enqueue(run.Id));
        return result;
    }

    /// <summary>A batch's content: its label, its own fields and each fit's content hash, in order.</summary>
    private static string BatchHash(string? label, string requestJson, IReadOnlyList<NewFit> fits)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(System.Text.Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { label, request = requestJson })));
        foreach (var fit in fits) hash.AppendData(System.Text.Encoding.ASCII.GetBytes(fit.RequestHash));
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Queues what was stored; a failure here is told as such (<see cref="NotQueuedException"/>), never as "nothing stored".</summary>
    private static void Enqueue(string resource, string id, Action enqueue)
    {
        try
        {
            enqueue();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new NotQueuedException(resource, id, e);
        }
    }

    /// <summary>
    /// Batches at least this big make their fits' stored forms in parallel, this many fits a range (below it, starting
    /// the threads costs more).
    /// </summary>
    private const int ParallelNewFits = 256;

    private static NewFit NewFit(string id, string tenant, ValidFit fit, DateTimeOffset now, string? idempotencyKey, string? batchId, string? traceParent)
    {
        var content = StoredSpecs.Content(fit.Spec);
        return new NewFit(id, tenant, Truncate(now), StoredSpecs.Stamp(content), fit.X, fit.Y, fit.Spec.Steps, fit.Spec.HistoryEvery,
            fit.Spec.Label, idempotencyKey, Hash(content, fit.X, fit.Y, fit.Weights), batchId, Weights: fit.Weights, TraceParent: traceParent);
    }

    /// <summary>Time-ordered ids (UUIDv7), 32 hex digits.</summary>
    public static string NewId() => Guid.CreateVersion7().ToString("N");

    /// <summary>
    /// <paramref name="count"/> ids as <see cref="NewId"/> makes them (UUIDv7 of <paramref name="now"/>: 48 bits of Unix
    /// milliseconds, the version, 12 random bits, the variant, 62 bits), rising in order: the 62 bits start at a random
    /// value and each id adds a random step of 1 to 2³² (RFC 9562 §6.2, method 2). A batch's fits then sit in item order
    /// in every index keyed by id (fits, points, history), so a chunk's start and end touch a few neighbouring pages of
    /// each rather than one page per fit: with random ids (one <see cref="Guid.CreateVersion7()"/> each, also a system
    /// call each) a batched fit cost 4.5 read calls, in order 3.4. The random bits are drawn at once.
    /// </summary>
    public static string[] NewIds(int count, DateTimeOffset now)
    {
        Span<byte> head = stackalloc byte[16];
        RandomNumberGenerator.Fill(head);
        var ms = now.ToUnixTimeMilliseconds();
        for (var b = 0; b < 6; b++) head[b] = (byte)(ms >> (8 * (5 - b)));
        head[6] = (byte)(0x70 | (head[6] & 0x0F));
        // The 62 bits start below 2⁶⁰, which leaves room for 3 × 2²⁸ steps of at most 2³² (Limits:MaxBatchFits is far below).
        var tail = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(head[8..]) & ((1UL << 60) - 1);
        var steps = new uint[count];
        RandomNumberGenerator.Fill(System.Runtime.InteropServices.MemoryMarshal.AsBytes(steps.AsSpan()));
        var ids = new string[count];
        for (var i = 0; i < count; i++)
        {
            tail += steps[i] + 1UL;
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(head[8..], (0b10UL << 62) | tail);
            ids[i] = Convert.ToHexStringLower(head);
        }
        return ids;
    }

    /// <summary>Identifies a request by content (its normalised fields, its points and weights), so equal requests match whatever their JSON spacing.</summary>
    public static string Hash(string requestJson, double[] x, double[] y, double[]? weights = null)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(System.Text.Encoding.UTF8.GetBytes(requestJson));
        hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(x.AsSpan()));
        hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(y.AsSpan()));
        // Unweighted fits hash as before (their stored hashes stay valid); the spec says "weighted", so no collision.
        if (weights is not null) hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(weights.AsSpan()));
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Times are kept to the millisecond, as the API shows them.</summary>
    public static DateTimeOffset Truncate(DateTimeOffset t) => DateTimeOffset.FromUnixTimeMilliseconds(t.ToUnixTimeMilliseconds());
}
