namespace FitService.Cli.Output;

/// <summary>The service could not be reached, or did not answer in time: what fitctl makes of the client's network errors.</summary>
internal sealed class FitServiceUnavailableException(Uri server, string message, Exception? inner = null)
    : Exception(message, inner)
{
    public Uri Server { get; } = server;

    /// <summary>The client's <see cref="HttpRequestException"/> or <see cref="TimeoutException"/>, told in fitctl's words; null for anything else.</summary>
    public static FitServiceUnavailableException? From(Exception error, Uri server) => error switch
    {
        HttpRequestException e => new(server, $"Cannot reach FitService at {server}: {(e.InnerException ?? e).Message}", e),
        TimeoutException e => new(server, e.Message, e),
        _ => null,
    };
}
