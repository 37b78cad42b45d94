using System.Net;

namespace FitService.Cli.Output;

/// <summary>Turns service errors into the lines a person reads: title and status, detail, then each field error on its own line.</summary>
internal static class ProblemText
{
    public static IReadOnlyList<string> Lines(FitServiceProblemException error)
    {
        var lines = new List<string> { $"Error: {error.Title ?? error.StatusCode.ToString()} (HTTP {error.Status})" };
        if (!string.IsNullOrWhiteSpace(error.Detail))
            lines.Add($"  {error.Detail}");
        foreach (var (field, messages) in error.Errors)
            foreach (var message in messages)
                lines.Add($"  {field}: {message}");
        var hint = Hint(error.StatusCode);
        if (hint is not null)
            lines.Add($"  {hint}");
        return lines;
    }

    public static IReadOnlyList<string> Lines(FitServiceUnavailableException error) =>
        [$"Error: {error.Message}", $"  Is the service running? Point fitctl at it with --server or {Commands.GlobalOptions.UrlVariable}."];

    private static string? Hint(HttpStatusCode status) => status switch
    {
        HttpStatusCode.Unauthorized => $"Pass a valid key with --api-key or {Commands.GlobalOptions.ApiKeyVariable}.",
        _ => null,
    };
}
