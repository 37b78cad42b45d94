namespace FitService.Api.Http;

/// <summary>What every route that creates work from a body (a fit, a batch, a finder run) may answer besides success.</summary>
public static class SubmissionRoutes
{
    /// <summary>400 with field errors, 409 (an idempotency key reused with another body), 413, 415, and 422 (too much work).</summary>
    public static RouteHandlerBuilder ProducesSubmissionProblems(this RouteHandlerBuilder route) => route
        .ProducesValidationProblem()
        .ProducesProblem(StatusCodes.Status409Conflict)
        .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
        .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
        .ProducesProblem(StatusCodes.Status422UnprocessableEntity);
}
