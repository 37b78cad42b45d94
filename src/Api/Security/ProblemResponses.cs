using Microsoft.AspNetCore.Mvc;

namespace FitService.Api.Security;

/// <summary>Answers a request from middleware with problem details, as the rest of the pipeline answers.</summary>
public static class ProblemResponses
{
    public static Task WriteProblemAsync(this HttpContext http, int status, string title, string detail)
    {
        http.Response.StatusCode = status;
        return http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
        }).AsTask();
    }
}
