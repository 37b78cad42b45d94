using System.Text.Json;
using System.Text.Json.Serialization;
using FitService.Contracts;

namespace FitService.Client;

/// <summary>The JSON settings of the wire: web defaults (camelCase) plus the service's own converters.</summary>
public static class FitServiceJson
{
    /// <summary>For reading answers and webhook payloads (times in UTC, a non-finite number sent as null read back as NaN).</summary>
    public static JsonSerializerOptions Options { get; } = Create(JsonIgnoreCondition.Never);

    /// <summary>For request bodies: fields left null are left out, so the service applies its defaults.</summary>
    public static JsonSerializerOptions Requests { get; } = Create(JsonIgnoreCondition.WhenWritingNull);

    private static JsonSerializerOptions Create(JsonIgnoreCondition ignore)
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = ignore };
        WireJson.Configure(options);
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
