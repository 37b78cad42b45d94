using System.Diagnostics.CodeAnalysis;
using FitService.Api.Http;
using FitService.Api.Storage;

namespace FitService.Api.Fits;

/// <summary>
/// The resources of recently read ended fits. An ended fit changes little (its optimum may still arrive, and that is part
/// of its version), so polling it again reuses the resource built last time instead of parsing its request and outcome
/// again, and its JSON and entity tag (<see cref="IKnownRepresentations"/>) instead of serializing and hashing it again.
/// The store is still read on every request: a deleted fit is gone at once, and a changed one gets a new resource.
/// Bounded by count and by bytes: when either is full, it starts over; a resource larger than a small share of the bytes
/// (a network's million params) is built for its request and not kept.
/// </summary>
public sealed class EndedFitResources : IKnownRepresentations
{
    /// <summary>Resources kept at most.</summary>
    public const int Capacity = 1_024;

    /// <summary>
    /// Bytes kept at most, as <see cref="SizeOf"/> estimates them (the record, the resource built from it, and its JSON).
    /// </summary>
    public const long ByteBudget = 32L * 1024 * 1024;

    private long _bytes;

    internal int Count => _entries.Count;

    internal long Bytes => Interlocked.Read(ref _bytes);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>The resource of <paramref name="fit"/> as <see cref="FitMapper.ToResource(FitRecord, int)"/> builds it.</summary>
    public FitResource Of(FitRecord fit, int maxInlineHistory)
    {
        if (!fit.Status.IsEnded()) return FitMapper.ToResource(fit, maxInlineHistory);
        if (_entries.TryGetValue(fit.Id, out var known) && known.Cap == maxInlineHistory && SameVersion(known.Version, fit)) return known.Resource;
        var resource = FitMapper.ToResource(fit, maxInlineHistory);
        var size = SizeOf(fit);
        if (size > ByteBudget / 64) return resource;
        if (_entries.Count >= Capacity || Interlocked.Add(ref _bytes, size) > ByteBudget)
        {
            _entries.Clear();
            Interlocked.Exchange(ref _bytes, size);
        }
        _entries[fit.Id] = new Entry(fit, maxInlineHistory, resource);
        return resource;
    }

    public bool TryGet(object body, [MaybeNullWhen(false)] out byte[] json, [MaybeNullWhen(false)] out string tag)
    {
        var representation = EntryOf(body)?.Representation;
        json = representation?.Json;
        tag = representation?.Tag;
        return representation is not null;
    }

    public void Add(object body, byte[] json, string tag)
    {
        if (EntryOf(body) is { } entry) entry.Representation = new Representation(json, tag);
    }

    private Entry? EntryOf(object body) =>
        body is FitResource resource && _entries.TryGetValue(resource.Id, out var entry) && ReferenceEquals(entry.Resource, resource) ? entry : null;

    /// <summary>What an ended fit's resource depends on and may still change (the optimum after the end), or could differ in a store read.</summary>
    private static bool SameVersion(FitRecord a, FitRecord b) =>
        a.Seq == b.Seq && a.Tenant == b.Tenant && a.Status == b.Status && a.StopReason == b.StopReason && a.Step == b.Step && a.Steps == b.Steps
        && a.Loss.Equals(b.Loss) && a.FinishedAt == b.FinishedAt && a.StartedAt == b.StartedAt && a.Error == b.Error && a.Label == b.Label
        && a.OutcomeJson == b.OutcomeJson && a.RequestJson == b.RequestJson && a.HistoryTotal == b.HistoryTotal
        && (a.History?.Length ?? -1) == (b.History?.Length ?? -1) && SameValues(a.Params, b.Params);

    /// <summary>
    /// What keeping <paramref name="fit"/> costs, roughly: its numbers are held in the record, again in the resource (params
    /// also by layer) and as JSON text (up to ~25 bytes each); its stored texts twice (record and JSON).
    /// </summary>
    internal static long SizeOf(FitRecord fit)
    {
        long numbers = 2L * (fit.Params?.Length ?? 0) + (fit.History?.Length ?? 0);
        long texts = (long)(fit.RequestJson?.Length ?? 0) + (fit.OutcomeJson?.Length ?? 0) + (fit.Label?.Length ?? 0) + (fit.Error?.Length ?? 0);
        return 1_024 + numbers * (8 + 8 + 25) + texts * 4;
    }

    private static bool SameValues(double[]? a, double[]? b) => a is null ? b is null : b is not null && a.AsSpan().SequenceEqual(b);

    private sealed class Entry(FitRecord version, int cap, FitResource resource)
    {
        public FitRecord Version { get; } = version;
        public int Cap { get; } = cap;
        public FitResource Resource { get; } = resource;

        /// <summary>Set by the first answer that serializes the resource; a race only serializes it twice.</summary>
        public volatile Representation? Representation;
    }

    private sealed record Representation(byte[] Json, string Tag);
}
