using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace FitService.Contracts;

/// <summary><c>learningRate</c>: a number, or <c>"auto"</c> for the rate the learning-rate finder suggests.</summary>
[JsonConverter(typeof(LearningRateValueConverter))]
public readonly record struct LearningRateValue(double? Rate)
{
    public const string AutoText = "auto";

    public static LearningRateValue Auto => new(null);

    public bool IsAuto => Rate is null;

    public override string ToString() => Rate?.ToString("R", CultureInfo.InvariantCulture) ?? AutoText;
}

/// <summary>Reads a JSON number or the string "auto"; anything else is an error naming the field.</summary>
public sealed class LearningRateValueConverter : JsonConverter<LearningRateValue>
{
    /// <summary>The error text; the API's request reader recognises it to name the field.</summary>
    public const string Message = "must be a finite number or \"auto\"";

    public override LearningRateValue Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out var rate)) return new LearningRateValue(rate);
        if (reader.TokenType == JsonTokenType.String && reader.ValueTextEquals(LearningRateValue.AutoText)) return LearningRateValue.Auto;
        throw new JsonException(Message);
    }

    public override void Write(Utf8JsonWriter writer, LearningRateValue value, JsonSerializerOptions options)
    {
        if (value.Rate is { } rate) writer.WriteNumberValue(rate);
        else writer.WriteStringValue(LearningRateValue.AutoText);
    }
}
