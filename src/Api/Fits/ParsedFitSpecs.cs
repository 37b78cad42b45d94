using System.Collections.Concurrent;
using FitService.Api.Storage;

namespace FitService.Api.Fits;

/// <summary>
/// The parsed requests of recently listed fits, by id. A list page is the newest fits, shown again and again while they
/// stay newest (by every client that pages or polls the list), and building each one's resource parsed its stored request
/// anew: the largest share of a list page's cost. A fit's request never changes, but an entry is used only for the very
/// row text it was parsed from (compared, not trusted), so nothing stale can be served. Bounded: when full, it starts over.
/// </summary>
public sealed class ParsedFitSpecs
{
    /// <summary>Specs kept at most.</summary>
    public const int Capacity = 1_024;

    /// <summary>A request row longer than this (in chars) is parsed for its request and not kept.</summary>
    public const int MaxRowLength = 8_192;

    private readonly ConcurrentDictionary<string, (string Row, FitSpec Spec)> _entries = new(StringComparer.Ordinal);

    internal int Count => _entries.Count;

    /// <summary>The spec <see cref="StoredSpecs.Read{T}"/> reads from <paramref name="fit"/>'s request row.</summary>
    public FitSpec Of(FitRecord fit)
    {
        if (_entries.TryGetValue(fit.Id, out var known) && string.Equals(known.Row, fit.RequestJson, StringComparison.Ordinal)) return known.Spec;
        var spec = StoredSpecs.Read<FitSpec>(fit.RequestJson);
        if (fit.RequestJson.Length > MaxRowLength) return spec;
        if (_entries.Count >= Capacity) _entries.Clear();
        _entries[fit.Id] = (fit.RequestJson, spec);
        return spec;
    }
}
