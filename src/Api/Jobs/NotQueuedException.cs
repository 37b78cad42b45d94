using System.Globalization;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace FitService.Api.Jobs;

/// <summary>A submission was stored, but its job could not be queued (the queue's storage failed after the insert).</summary>
public sealed class NotQueuedException(string resource, string id, Exception cause)
    : Exception($"{resource} {id} was stored but could not be queued", cause)
{
    /// <summary><c>fit</c> or <c>batch</c>.</summary>
    public string Resource { get; } = resource;

    public string Id { get; } = id;
}

/// <summary>
/// Answers <see cref="NotQueuedException"/> with the truth: a 503 that says what was stored and how to get it queued.
/// Registered before the storage handler, which would otherwise read the queue's database error as "nothing was stored".
/// </summary>
public sealed class NotQueuedExceptionHandler(IProblemDetailsService problems, ILogger<NotQueuedExceptionHandler> logger) : IExceptionHandler
{
    private const int RetryAfterSeconds = 2;

    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken ct)
    {
        if (exception is not NotQueuedException e || http.Response.HasStarted) return false;
        logger.LogWarning(e.InnerException, "{Resource} {Id} stored but not queued; answered 503", e.Resource, e.Id);
        http.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        http.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        var detail = e.Resource == "fit"
            ? $"The fit {e.Id} was stored but could not be queued. Retry with the same Idempotency-Key: the retry queues it at once " +
              "(a retry without the key creates a second fit). Left alone, it starts when a worker's sweep or the service's next start finds it."
            : $"The {e.Resource} {e.Id} was stored but could not be queued; its fits start when a worker's sweep or the service's next start finds them. " +
              "Do not submit it again: that would create a second one.";
        var problem = new ProblemDetails { Status = StatusCodes.Status503ServiceUnavailable, Title = "Stored, not queued", Detail = detail };
        problem.Extensions[e.Resource + "Id"] = e.Id;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = http, Exception = exception, ProblemDetails = problem });
    }
}
