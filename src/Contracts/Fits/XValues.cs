using System.Text.Json;
using System.Text.Json.Serialization;

namespace FitService.Contracts;

/// <summary>
/// <c>x</c>: a list of numbers (one feature per point, as the lesson's x), or a list of rows (many features per point,
/// <c>[[age, fare], …]</c>, as a table's columns). Held row-major; a list of numbers is one feature.
/// </summary>
/// <remarks>
/// Rows of unequal length are read, not refused, so that the validator can name the first one (<see cref="RaggedRow"/>);
/// the reader never builds one array per row.
/// </remarks>
[JsonConverter(typeof(XValuesConverter))]
[System.Runtime.CompilerServices.CollectionBuilder(typeof(XValues), nameof(Create))]
public sealed class XValues
{
    /// <summary>One feature, from a collection expression: <c>X = [1, 2, 3]</c>.</summary>
    public static XValues Create(ReadOnlySpan<double> values) => new(values.ToArray());

    /// <summary>The values, row after row (what a collection expression and <c>foreach</c> see).</summary>
    public IEnumerator<double> GetEnumerator() => ((IEnumerable<double>)Values).GetEnumerator();

    /// <summary>One feature: the numbers as they are.</summary>
    public XValues(double[] values)
    {
        Values = values;
        Features = 1;
        _rows = values.Length;
    }

    private readonly int _rows;

    /// <summary>Many features: <paramref name="values"/> row-major, <paramref name="features"/> a row.</summary>
    public XValues(double[] values, int features, bool asRows = true, int? raggedRow = null, int raggedLength = 0, int? rows = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(features, 0);
        Values = values;
        Features = features;
        _rows = rows ?? (features == 0 ? 0 : values.Length / features);
        AsRows = asRows;
        RaggedRow = raggedRow;
        RaggedLength = raggedLength;
    }

    /// <summary>Rows of features, copied row-major.</summary>
    public static XValues FromRows(IReadOnlyList<double[]> rows)
    {
        var width = rows.Count == 0 ? 0 : rows[0].Length;
        var ragged = -1;
        for (var i = 0; i < rows.Count && ragged < 0; i++) if (rows[i].Length != width) ragged = i;
        if (ragged >= 0) return new XValues([], width, true, ragged, rows[ragged].Length, rows.Count);
        var values = new double[rows.Count * width];
        for (var i = 0; i < rows.Count; i++) rows[i].CopyTo(values, i * width);
        return new XValues(values, width);
    }

    /// <summary>All the values, row after row.</summary>
    public double[] Values { get; }

    /// <summary>Values a row: 1 for a list of numbers; the first row's length for rows.</summary>
    public int Features { get; }

    /// <summary>Whether x was written as rows (a list of lists), even rows of one value.</summary>
    public bool AsRows { get; }

    /// <summary>The index of the first row whose length differs from the first row's; null when all agree.</summary>
    public int? RaggedRow { get; }

    /// <summary>The length of <see cref="RaggedRow"/>.</summary>
    public int RaggedLength { get; }

    /// <summary>Number of points (rows, even rows of unequal length or empty ones).</summary>
    public int Count => _rows;

    /// <summary>The value of feature <paramref name="feature"/> of point <paramref name="point"/>.</summary>
    public double this[int point, int feature] => Values[point * Features + feature];

    public static implicit operator XValues(double[] values) => new(values);

    public static implicit operator XValues(double[][] rows) => FromRows(rows);
}

/// <summary>Reads a JSON array of numbers or of arrays of numbers; anything else is an error naming the field.</summary>
public sealed class XValuesConverter : JsonConverter<XValues>
{
    /// <summary>The error text; the API's request reader recognises it to name the field.</summary>
    public const string Message = "must be an array of numbers, or an array of rows (arrays of numbers)";

    /// <summary>Follows <see cref="Message"/> with the index of the bad item, e.g. <c> at [2]</c> or <c> at [1][0]</c>.</summary>
    public const string At = " at ";

    private static JsonException Bad(int item, int? inner = null) => new($"{Message}{At}[{item}]{(inner is { } i ? $"[{i}]" : "")}");

    public override XValues Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartArray) throw new JsonException(Message);
        var values = new List<double>();
        bool? rows = null;
        int width = -1, count = 0, raggedLength = 0;
        int? ragged = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType == JsonTokenType.Number && rows != true)
            {
                rows = false;
                values.Add(Number(ref reader, count));
                count++;
            }
            else if (reader.TokenType == JsonTokenType.StartArray && rows != false)
            {
                rows = true;
                var length = 0;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.Number) throw Bad(count, length);
                    var value = Number(ref reader, count, length);
                    if (ragged is null) values.Add(value);
                    length++;
                }
                if (width < 0) width = length;
                else if (length != width && ragged is null)
                {
                    ragged = count;
                    raggedLength = length;
                }
                count++;
            }
            else throw Bad(count);
        }
        return rows == true ? new XValues(ragged is null ? [.. values] : [], Math.Max(width, 0), true, ragged, raggedLength, count) : new XValues([.. values]);
    }

    // A number beyond double's range reads as ±∞, as for any list of numbers: the validator then names its index.
    private static double Number(ref Utf8JsonReader reader, int item, int? inner = null) => reader.TryGetDouble(out var value) ? value : throw Bad(item, inner);

    public override void Write(Utf8JsonWriter writer, XValues value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        if (!value.AsRows)
        {
            foreach (var v in value.Values) writer.WriteNumberValue(v);
        }
        else
        {
            for (var i = 0; i < value.Count; i++)
            {
                writer.WriteStartArray();
                for (var j = 0; j < value.Features; j++) writer.WriteNumberValue(value[i, j]);
                writer.WriteEndArray();
            }
        }
        writer.WriteEndArray();
    }
}
