using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace FitService.Contracts;

/// <summary>Times as RFC 3339 UTC with milliseconds (<c>2026-11-28T09:15:02.123Z</c>).</summary>
public sealed class UtcMillisecondsConverter : JsonConverter<DateTimeOffset>
{
    public const string Format = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        DateTimeOffset.Parse(reader.GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.UtcDateTime.ToString(Format, CultureInfo.InvariantCulture));
}

/// <summary>JSON has no NaN or ∞: a non-finite number in a response is written as null rather than failing the response.</summary>
public sealed class FiniteOrNullConverter : JsonConverter<double>
{
    public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.Null ? double.NaN : reader.GetDouble();

    public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options)
    {
        if (double.IsFinite(value)) writer.WriteNumberValue(value);
        else writer.WriteNullValue();
    }
}

/// <summary>The converters that give the wire format its shape, added to the web defaults (camelCase) by the service and the client alike.</summary>
public static class WireJson
{
    public static void Configure(JsonSerializerOptions options)
    {
        options.Converters.Add(new UtcMillisecondsConverter());
        options.Converters.Add(new FiniteOrNullConverter());
        options.TypeInfoResolver = (options.TypeInfoResolver ?? new DefaultJsonTypeInfoResolver()).WithAddedModifier(OmitNonFiniteOptionalNumbers);
    }

    /// <summary>
    /// An optional number (<c>double?</c> left out when null) is left out when not finite too: the converter above would write
    /// it as null, and the schema says such a field is absent or a number, never null (a generated client throws on null).
    /// </summary>
    private static void OmitNonFiniteOptionalNumbers(JsonTypeInfo info)
    {
        if (info.Kind != JsonTypeInfoKind.Object) return;
        foreach (var property in info.Properties)
        {
            if (property.PropertyType != typeof(double?)) continue;
            if (property.AttributeProvider?.GetCustomAttributes(typeof(JsonIgnoreAttribute), inherit: true) is not [JsonIgnoreAttribute { Condition: JsonIgnoreCondition.WhenWritingNull }]) continue;
            property.ShouldSerialize = static (_, value) => value is double number && double.IsFinite(number);
        }
    }
}
