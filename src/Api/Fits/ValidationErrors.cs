namespace FitService.Api.Fits;

/// <summary>Messages per request field (camelCase JSON paths such as <c>optimizer.momentum</c>), as problem details' <c>errors</c>.</summary>
public sealed class ValidationErrors
{
    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);

    public bool Any => _errors.Count > 0;

    public void Add(string field, string message)
    {
        if (!_errors.TryGetValue(field, out var list)) _errors[field] = list = [];
        list.Add(message);
    }

    /// <summary>Copies another set of errors under a prefix, e.g. <c>fits[3].</c>.</summary>
    public void AddAll(string prefix, ValidationErrors other)
    {
        foreach (var (field, messages) in other._errors)
        {
            foreach (var message in messages) Add(prefix + field, message);
        }
    }

    public Dictionary<string, string[]> ToDictionary() => _errors.ToDictionary(e => e.Key, e => e.Value.ToArray());
}
