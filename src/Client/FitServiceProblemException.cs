using System.Net;
using System.Text.Json;

namespace FitService.Client;

/// <summary>
/// FitService answered with an error status. Its RFC 9457 problem details are here: <see cref="Status"/>, <see cref="Type"/>,
/// <see cref="Title"/>, <see cref="Detail"/> and, for a rejected request, every invalid field in <see cref="Errors"/>
/// (e.g. <c>learningRate</c> → "must be a finite number &gt; 0, or \"auto\"").
/// </summary>
public sealed class FitServiceProblemException : Exception
{
    /// <summary>A problem as the service described it; <paramref name="errors"/> are the invalid fields, if any.</summary>
    public FitServiceProblemException(
        HttpStatusCode statusCode, string? type, string? title, string? detail, string? instance,
        IReadOnlyDictionary<string, string[]>? errors = null, IReadOnlyDictionary<string, JsonElement>? extensions = null, TimeSpan? retryAfter = null)
        : base(Describe(statusCode, title, detail, errors))
    {
        StatusCode = statusCode;
        Type = type;
        Title = title;
        Detail = detail;
        Instance = instance;
        Errors = errors ?? new Dictionary<string, string[]>();
        Extensions = extensions ?? new Dictionary<string, JsonElement>();
        RetryAfter = retryAfter;
    }

    /// <summary>The HTTP status of the answer.</summary>
    public HttpStatusCode StatusCode { get; }

    /// <summary>The HTTP status as a number (the problem's <c>status</c>).</summary>
    public int Status => (int)StatusCode;

    /// <summary>A URI naming the kind of problem; absent when the service sent none.</summary>
    public string? Type { get; }

    /// <summary>A short summary of the kind of problem.</summary>
    public string? Title { get; }

    /// <summary>What went wrong this time.</summary>
    public string? Detail { get; }

    /// <summary>A URI naming this occurrence, when the service sent one.</summary>
    public string? Instance { get; }

    /// <summary>Each invalid field (as named on the wire, e.g. <c>fits[2].degree</c>) with what is wrong with it; empty unless the request was rejected field by field.</summary>
    public IReadOnlyDictionary<string, string[]> Errors { get; }

    /// <summary>Any other members of the problem details object.</summary>
    public IReadOnlyDictionary<string, JsonElement> Extensions { get; }

    /// <summary>The <c>Retry-After</c> of a 429 or 503, when the service sent one.</summary>
    public TimeSpan? RetryAfter { get; }

    private static string Describe(HttpStatusCode status, string? title, string? detail, IReadOnlyDictionary<string, string[]>? errors)
    {
        var text = $"{title ?? status.ToString()} (HTTP {(int)status})";
        if (!string.IsNullOrWhiteSpace(detail)) text += ": " + detail;
        if (errors is { Count: > 0 })
            text += " " + string.Join("; ", errors.SelectMany(e => e.Value.Select(message => $"{e.Key}: {message}")));
        return text;
    }
}
