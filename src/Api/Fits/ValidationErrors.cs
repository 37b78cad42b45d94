namespace FitService.Api.Fits;

/// <summary>
/// Messages per request field (camelCase JSON paths such as <c>optimizer.momentum</c>), as problem details' <c>errors</c>. At most <see cref="MaxListed"/> messages are kept, in the order found; the rest
/// are only counted (<see cref="Omitted"/>, the answer's <c>errorsOmitted</c>), so a body with a million bad values gets
/// a small answer and costs no memory per error beyond the cap.
/// </summary>
public sealed class ValidationErrors
{
    /// <summary>Most messages one answer lists.</summary>
    public const int MaxListed = 20;

    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);
    private int _listed;

    public bool Any => _listed > 0 || Omitted > 0;

    /// <summary>Errors found beyond <see cref="MaxListed"/>: counted, not kept.</summary>
    public long Omitted { get; private set; }

    /// <summary>Whether another message would still be listed (when not, callers can skip composing it).</summary>
    public bool Listing => _listed < MaxListed;

    public void Add(string field, string message)
    {
        if (!Listing)
        {
            Omitted++;
            return;
        }
        if (!_errors.TryGetValue(field, out var list)) _errors[field] = list = [];
        list.Add(message);
        _listed++;
    }

    /// <summary>Adds an error whose message is composed only if it will be listed.</summary>
    public void Add(string field, Func<string> message)
    {
        if (Listing) Add(field, message());
        else Omitted++;
    }

    /// <summary>Copies another set of errors under a prefix, e.g. <c>fits[3].</c>, with its count of omitted ones.</summary>
    public void AddAll(string prefix, ValidationErrors other)
    {
        foreach (var (field, messages) in other._errors)
        {
            foreach (var message in messages) Add(prefix + field, message);
        }
        Omitted += other.Omitted;
    }

    /// <summary>
    /// Runs one of the engine's numeric rules (<c>FitProblemValidator</c>, whose fields are already the wire's camelCase
    /// names) and adds what it finds, each field under <paramref name="prefix"/>.
    /// </summary>
    public void Check(Action<List<(string Field, string Message)>> rule, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(rule);
        var found = new List<(string Field, string Message)>();
        rule(found);
        foreach (var (field, message) in found) Add(prefix + field, message);
    }

    public Dictionary<string, string[]> ToDictionary() => _errors.ToDictionary(e => e.Key, e => e.Value.ToArray());
}
