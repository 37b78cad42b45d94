using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace FitService.Api.Security;

/// <summary>
/// A request Kestrel finds broken while the endpoint reads it (bad chunked encoding, a body sent too slowly, a body
/// over the limit) is the client's fault: its own 4xx status as problem details, not a 500.
/// </summary>
public sealed class BadRequestExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken ct)
    {
        if (exception is not BadHttpRequestException bad || http.Response.HasStarted) return false;
        http.Response.StatusCode = bad.StatusCode;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails = new ProblemDetails { Status = bad.StatusCode, Title = "Bad request", Detail = bad.Message },
        });
    }
}
