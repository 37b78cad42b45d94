using Microsoft.AspNetCore.Http.HttpResults;

namespace FitService.Api.Fits;

/// <summary>
/// The <c>Idempotency-Key</c> request header of every POST that creates something (fits, batches, finder runs): a retried
/// request with the same key returns what the first one created; the same key with a different request is 409.
/// </summary>
public static class IdempotencyKey
{
    public const string Header = "Idempotency-Key";

    /// <summary>Set on an answer that replays what an earlier request with the same key created.</summary>
    public const string ReplayedHeader = "Idempotent-Replayed";

    public const int MaxLength = 200;

    /// <summary>The key, or null without one; a key too long or with control characters is a validation error.</summary>
    public static string? Read(HttpRequest request, ValidationErrors errors)
    {
        var key = request.Headers[Header].ToString();
        if (key.Length > MaxLength || key.Any(char.IsControl)) errors.Add(Header, $"must be at most {MaxLength} printable characters");
        return key.Length == 0 ? null : key;
    }

    /// <summary>Marks the answer as a replay of what an earlier request created.</summary>
    public static void MarkReplayed(HttpResponse response) => response.Headers[ReplayedHeader] = "true";

    /// <summary>The 409 for a key reused with a different request, naming what the key created.</summary>
    public static ProblemHttpResult Conflict(string key, string what, string id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Idempotency-Key already used",
            detail: $"The key '{key}' was used for a different request ({what} {id}). Use a new key for a new request.");
}
