using Microsoft.AspNetCore.WebUtilities;

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
}
