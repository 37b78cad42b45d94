using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace FitService.Api.Security;

/// <summary>
/// Every problem-details body carries <c>type</c>, <c>title</c>, <c>status</c> and <c>detail</c>, whoever wrote it:
/// our handlers, the status-code pages (404, 405, 415 from routing and binding), the rate limiter (429), the limits
/// below. ASP.NET Core knows a <c>type</c> for the common statuses only; the rest get their RFC's section here.
/// </summary>
public static class ProblemDefaults
{
    private static readonly Dictionary<int, string> Types = new()
    {
        [StatusCodes.Status400BadRequest] = "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        [StatusCodes.Status401Unauthorized] = "https://tools.ietf.org/html/rfc9110#section-15.5.2",
        [StatusCodes.Status403Forbidden] = "https://tools.ietf.org/html/rfc9110#section-15.5.4",
        [StatusCodes.Status404NotFound] = "https://tools.ietf.org/html/rfc9110#section-15.5.5",
        [StatusCodes.Status405MethodNotAllowed] = "https://tools.ietf.org/html/rfc9110#section-15.5.6",
        [StatusCodes.Status406NotAcceptable] = "https://tools.ietf.org/html/rfc9110#section-15.5.7",
        [StatusCodes.Status408RequestTimeout] = "https://tools.ietf.org/html/rfc9110#section-15.5.9",
        [StatusCodes.Status409Conflict] = "https://tools.ietf.org/html/rfc9110#section-15.5.10",
        [StatusCodes.Status412PreconditionFailed] = "https://tools.ietf.org/html/rfc9110#section-15.5.13",
        [StatusCodes.Status415UnsupportedMediaType] = "https://tools.ietf.org/html/rfc9110#section-15.5.16",
        [StatusCodes.Status422UnprocessableEntity] = "https://tools.ietf.org/html/rfc9110#section-15.5.21",
        [StatusCodes.Status500InternalServerError] = "https://tools.ietf.org/html/rfc9110#section-15.6.1",
        [StatusCodes.Status502BadGateway] = "https://tools.ietf.org/html/rfc9110#section-15.6.3",
        [StatusCodes.Status503ServiceUnavailable] = "https://tools.ietf.org/html/rfc9110#section-15.6.4",
        [StatusCodes.Status504GatewayTimeout] = "https://tools.ietf.org/html/rfc9110#section-15.6.5",
        [StatusCodes.Status413PayloadTooLarge] = "https://tools.ietf.org/html/rfc9110#section-15.5.14",
        [StatusCodes.Status414UriTooLong] = "https://tools.ietf.org/html/rfc9110#section-15.5.15",
        [StatusCodes.Status416RangeNotSatisfiable] = "https://tools.ietf.org/html/rfc9110#section-15.5.17",
        [StatusCodes.Status421MisdirectedRequest] = "https://tools.ietf.org/html/rfc9110#section-15.5.20",
        [StatusCodes.Status429TooManyRequests] = "https://tools.ietf.org/html/rfc6585#section-4",
        [StatusCodes.Status431RequestHeaderFieldsTooLarge] = "https://tools.ietf.org/html/rfc6585#section-5",
        [StatusCodes.Status507InsufficientStorage] = "https://tools.ietf.org/html/rfc4918#section-11.5",
    };

    public static void Apply(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        var http = context.HttpContext;
        var status = problem.Status ?? http.Response.StatusCode;
        problem.Status = status;
        problem.Title ??= ReasonPhrases.GetReasonPhrase(status);
        problem.Type ??= Types.GetValueOrDefault(status, "about:blank");
        problem.Detail ??= status switch
        {
            StatusCodes.Status404NotFound => $"There is nothing at {http.Request.Path}.",
            StatusCodes.Status405MethodNotAllowed => $"{http.Request.Method} is not allowed on {http.Request.Path}" +
                (http.Response.Headers.Allow.Count > 0 ? $"; allowed: {http.Response.Headers.Allow}." : "."),
            StatusCodes.Status415UnsupportedMediaType => $"{http.Request.ContentType ?? "A body without Content-Type"} is not accepted here; send application/json.",
            StatusCodes.Status401Unauthorized => "Send a valid API key as 'Authorization: Bearer <key>'.",
            StatusCodes.Status403Forbidden => "This key may not do this.",
            StatusCodes.Status500InternalServerError => "The service failed to answer; the error is logged with this request's traceId.",
            _ => problem.Title,
        };
    }

    /// <summary>
    /// Writes problem details as <c>application/problem+json</c> whatever the request's <c>Accept</c> says. ASP.NET
    /// Core's own writer declines when <c>Accept</c> names no JSON (a CSV history, an SVG plot), and the status-code
    /// pages then fall back to a line of plain text; an error is the same document for every client.
    /// </summary>
    public sealed class AlwaysJsonWriter(IOptions<ProblemDetailsOptions> options) : IProblemDetailsWriter
    {
        private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

        public bool CanWrite(ProblemDetailsContext context) => true;

        public ValueTask WriteAsync(ProblemDetailsContext context)
        {
            var http = context.HttpContext;
            var problem = context.ProblemDetails;
            problem.Status ??= http.Response.StatusCode;
            problem.Extensions.TryAdd("traceId", Activity.Current?.Id ?? http.TraceIdentifier);
            options.Value.CustomizeProblemDetails?.Invoke(context);
            Apply(context);
            return new ValueTask(http.Response.WriteAsJsonAsync(problem, problem.GetType(), Json, "application/problem+json", http.RequestAborted));
        }
    }
}
