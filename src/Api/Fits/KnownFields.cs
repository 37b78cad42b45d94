using System.Reflection;
using System.Text.Json;

namespace FitService.Api.Fits;

/// <summary>
/// Finds every field of a JSON body that its request type does not have, each with the closest known field, so one
/// typo (<c>lr</c>) is reported as "did you mean learningRate?" beside the request's other errors instead of alone.
/// </summary>
public static class KnownFields
{
    /// <summary>Unknown fields reported at most; a body of a million of them costs no more than one of twenty.</summary>
    public const int MaxReported = 20;

    /// <summary>Names people bring from numpy, scipy, PyTorch and other services, mapped to ours.</summary>
    private static readonly Dictionary<string, string> Aliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["lr"] = "learningRate", ["learning_rate"] = "learningRate", ["rate"] = "learningRate", ["alpha"] = "learningRate",
        ["epochs"] = "steps", ["iterations"] = "steps", ["iters"] = "steps", ["maxiter"] = "steps", ["n_steps"] = "steps",
        ["deg"] = "degree", ["order"] = "degree", ["p0"] = "initialParams", ["initial_params"] = "initialParams",
        ["w"] = "weights", ["weight"] = "weights", ["sample_weight"] = "weights", ["method"] = "solver", ["name"] = "label",
    };

    /// <summary>The unknown fields of <paramref name="body"/> read as <typeparamref name="T"/>: JSON path and message.</summary>
    public static List<(string Field, string Message)> Unknown<T>(byte[] body)
    {
        var found = new List<(string, string)>();
        try
        {
            using var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = FitRequestReader.MaxJsonDepth });
            Walk(document.RootElement, typeof(T), "", found);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException)
        {
            // Not JSON, or not UTF-8 (names are decoded only here): the strict reader's own error says so.
            found.Clear();
        }
        return found;
    }

    /// <summary>"is not a known field", with the closest of <paramref name="known"/> when one is close enough.</summary>
    public static string Message(string name, IEnumerable<string> known) =>
        Closest(name, known) is { } suggestion ? $"is not a known field; did you mean {suggestion}?" : "is not a known field";

    /// <summary>A known alias, else the known name nearest in edit distance (ignoring case), if within a third of its length.</summary>
    public static string? Closest(string name, IEnumerable<string> known)
    {
        var candidates = known.ToList();
        if (Aliases.TryGetValue(name, out var alias) && candidates.Contains(alias)) return alias;
        if (name.Length > 64) return null; // nothing we name is that long; skip the quadratic comparison
        var best = candidates
            .Select(k => (Name: k, Distance: Distance(name.ToLowerInvariant(), k.ToLowerInvariant())))
            .OrderBy(c => c.Distance).ThenBy(c => c.Name, StringComparer.Ordinal)
            .FirstOrDefault();
        return best.Name is not null && best.Distance <= Math.Max(1, best.Name.Length / 3) ? best.Name : null;
    }

    private static void Walk(JsonElement element, Type type, string path, List<(string, string)> found)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type.IsArray && element.ValueKind == JsonValueKind.Array)
        {
            var index = 0;
            foreach (var item in element.EnumerateArray()) Walk(item, type.GetElementType()!, $"{path}[{index++}]", found);
            return;
        }
        if (element.ValueKind != JsonValueKind.Object || !IsRequestObject(type)) return;
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .ToDictionary(p => JsonNamingPolicy.CamelCase.ConvertName(p.Name), StringComparer.Ordinal);
        foreach (var member in element.EnumerateObject())
        {
            var field = path.Length == 0 ? member.Name : $"{path}.{member.Name}";
            if (properties.TryGetValue(member.Name, out var property)) Walk(member.Value, property.PropertyType, field, found);
            else if (found.Count < MaxReported) found.Add((field, Message(member.Name, properties.Keys)));
            else return;
        }
    }

    /// <summary>Our request DTOs (classes of this assembly); numbers, strings and converters' types are leaves.</summary>
    private static bool IsRequestObject(Type type) =>
        type.IsClass && type != typeof(string) && type.Assembly == typeof(FitRequest).Assembly;

    /// <summary>Edit distance counting a swap of neighbours as one edit (optimal string alignment): "stesp" is 1 from "steps".</summary>
    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        }
        return d[a.Length, b.Length];
    }
}
