using System.CommandLine;
using System.Net.Http.Headers;

namespace FitService.Cli.Commands;

/// <summary>Options every command takes: where the service is, the API key, and the output mode.</summary>
internal sealed class GlobalOptions
{
    public const string UrlVariable = "FITSERVICE_URL";
    public const string ApiKeyVariable = "FITSERVICE_API_KEY";
    public static readonly Uri DefaultServer = new("http://localhost:5080/");

    public Option<string?> Server { get; } = new("--server", "-s")
    {
        Description = $"FitService base URL [env {UrlVariable}; default {DefaultServer.AbsoluteUri.TrimEnd('/')}]",
        Recursive = true,
    };

    public Option<string?> ApiKey { get; } = new("--api-key")
    {
        Description = $"API key, sent as 'Authorization: Bearer <key>' [env {ApiKeyVariable}]",
        Recursive = true,
    };

    public Option<bool> Json { get; } = new("--json")
    {
        Description = "Write machine-readable JSON to standard output (no progress display)",
        Recursive = true,
    };

    public Option<bool> Quiet { get; } = new("--quiet", "-q")
    {
        Description = "No progress display or status lines; print only the result",
        Recursive = true,
    };

    public void AddTo(Command root)
    {
        root.Options.Add(Server);
        root.Options.Add(ApiKey);
        root.Options.Add(Json);
        root.Options.Add(Quiet);
    }

    /// <summary>--server, else FITSERVICE_URL, else http://localhost:5080.</summary>
    public Uri ResolveServer(ParseResult parseResult, CliContext context)
    {
        var text = FirstNonEmpty(parseResult.GetValue(Server), context.GetEnvironmentVariable(UrlVariable));
        if (text is null)
            return DefaultServer;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new UsageException($"--server must be an http:// or https:// URL, not '{text}'");
        return uri;
    }

    /// <summary>--api-key, else FITSERVICE_API_KEY, else none.</summary>
    public string? ResolveApiKey(ParseResult parseResult, CliContext context) =>
        FirstNonEmpty(parseResult.GetValue(ApiKey), context.GetEnvironmentVariable(ApiKeyVariable));

    /// <summary>The HTTP client a command owns (and disposes); <see cref="CliContext.Handler"/>, if set, routes it to a test host.</summary>
    public static HttpClient CreateHttpClient(CliContext context)
    {
        var http = context.Handler is null ? new HttpClient() : new HttpClient(context.Handler, disposeHandler: false);
        http.Timeout = Timeout.InfiniteTimeSpan; // the client library sets a deadline per call; event streams live long
        http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("fitctl", typeof(GlobalOptions).Assembly.GetName().Version?.ToString(3)));
        return http;
    }

    public FitServiceClient CreateClient(HttpClient http, ParseResult parseResult, CliContext context) =>
        new(http, new FitServiceClientOptions { BaseAddress = ResolveServer(parseResult, context), ApiKey = ResolveApiKey(parseResult, context) });

    public OutputMode ResolveOutput(ParseResult parseResult, CliContext context)
    {
        var json = parseResult.GetValue(Json);
        var quiet = parseResult.GetValue(Quiet);
        var live = !json && !quiet && !context.OutputRedirected && context.Out.Profile.Capabilities.Interactive;
        return new OutputMode(json, quiet, live);
    }

    private static string? FirstNonEmpty(params string?[] values) => values.FirstOrDefault(v => !string.IsNullOrWhiteSpace(v));
}

/// <summary>How to print: <paramref name="Json"/> for machines, <paramref name="Live"/> when a person watches a terminal.</summary>
internal sealed record OutputMode(bool Json, bool Quiet, bool Live);
