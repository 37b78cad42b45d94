using FitService.Api.Fits;
using FitService.Engine;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace FitService.Api.Evaluation;

public static class EvaluateEndpoints
{
    public static RouteHandlerBuilder MapEvaluate(this IEndpointRouteBuilder app) =>
        app.MapPost("/v1/evaluate", Evaluate).WithName("Evaluate").WithTags("Evaluate")
            .WithSummary("Loss of a polynomial at given params")
            .WithDescription("Computes the loss (mae, mse or huber) of the polynomial with `params` on the points, with the engine a fit uses, " +
                "without running a fit or storing anything. The playground checks its slider loss against this.")
            .Accepts<EvaluateRequest>("application/json")
            .Produces<EvaluateResult>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);

    public static async Task<Results<Ok<EvaluateResult>, ValidationProblem, ProblemHttpResult>> Evaluate(
        HttpRequest http, IOptions<LimitsOptions> limits, CancellationToken ct)
    {
        var read = await FitRequestReader.ReadJsonAsync<EvaluateRequest>(http, limits.Value, ct);
        if (read.Request is not { } request)
        {
            return read.Errors is { } readErrors
                ? FitEndpoints.Invalid(readErrors)
                : TypedResults.Problem(statusCode: read.Status, title: read.Title, detail: read.Detail);
        }

        var errors = new ValidationErrors();
        FitValidator.ValidatePoints(request.X, request.Y, limits.Value, errors);
        FitValidator.ValidateDegree(request.Degree, errors);
        FitValidator.ValidateLoss(request.Loss, request.HuberDelta, errors, request.Y);
        if (request.Params is null) errors.Add("params", "is required");
        FitValidator.ValidateParams(request.Params, request.Degree, "params", errors);
        if (errors.Any) return FitEndpoints.Invalid(errors);

        var loss = Fitter.Evaluate(request.X!, request.Y!, request.Degree!.Value,
            FitValidator.ToLossSpec(request.Loss!, request.HuberDelta), request.Params!);
        return TypedResults.Ok(new EvaluateResult(FitMapper.FiniteOrNull(loss)));
    }
}
