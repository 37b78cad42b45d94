using System.Net;

namespace FitService.Cli.Client;

/// <summary>The service answered with an error status; <see cref="Problem"/> holds its problem details (or a stand-in built from the status).</summary>
internal sealed class FitServiceException(HttpStatusCode statusCode, ProblemDetails problem)
    : Exception(problem.Detail ?? problem.Title ?? $"HTTP {(int)statusCode}")
{
    public HttpStatusCode StatusCode { get; } = statusCode;
    public ProblemDetails Problem { get; } = problem;
}

/// <summary>The service could not be reached, or did not answer in time.</summary>
internal sealed class FitServiceUnavailableException(Uri server, string message, Exception? inner = null)
    : Exception(message, inner)
{
    public Uri Server { get; } = server;
}
