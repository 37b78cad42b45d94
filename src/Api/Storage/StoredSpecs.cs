using System.Text.Json;
using System.Text.Json.Serialization;

namespace FitService.Api.Storage;

/// <summary>
/// The format in which the stores keep a request's spec (a fit's, a batch's, a finder run's): the wire fields as JSON,
/// stamped with the format's version, and read leniently.
/// </summary>
/// <remarks>
/// On a shared PostgreSQL an API process of a newer version may store a spec that a worker of the older version runs
/// during a rolling upgrade. So the reader skips fields it does not know (the wire reader refuses them), and a change
/// that renames a field or changes what one means raises <see cref="Version"/>, with <see cref="Read{T}"/> mapping the
/// older versions. Rows written before the stamp existed are version 0, which has the same fields as version 1.
/// </remarks>
public static class StoredSpecs
{
    /// <summary>The version written into every new row.</summary>
    public const int Version = 1;

    /// <summary>The name of the version field; no request field may use it.</summary>
    public const string VersionField = "specFormat";

    private static readonly JsonSerializerOptions Writing = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.Strict,
    };

    private static readonly JsonSerializerOptions Reading = new(Writing)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
        // A row is ours, but its depth is bounded all the same: it was a request once.
        MaxDepth = 64,
    };

    /// <summary>
    /// The spec's fields as JSON, without the version stamp: what a request's content hash is computed over, so
    /// an idempotent retry matches whichever version stored the first attempt.
    /// </summary>
    public static string Content<T>(T spec) => JsonSerializer.Serialize(spec, Writing);

    /// <summary>The row text of a spec whose <see cref="Content{T}"/> is <paramref name="content"/>.</summary>
    public static string Stamp(string content) =>
        content is ['{', '}'] ? $"{{\"{VersionField}\":{Version}}}" : $"{{\"{VersionField}\":{Version},{content.AsSpan(1)}";

    /// <summary>The row text of a spec.</summary>
    public static string Write<T>(T spec) => Stamp(Content(spec));

    /// <summary>A stored spec of any version (fields unknown to this version are skipped).</summary>
    public static T Read<T>(string row) where T : class =>
        JsonSerializer.Deserialize<T>(row, Reading) ?? throw new JsonException($"A stored {typeof(T).Name} is the JSON null.");
}
