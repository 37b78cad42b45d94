using FitService.Api.Fits;
using FitService.Engine;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace FitService.Api.Evaluation;

public static class EvaluateEndpoints
{
    public static RouteHandlerBuilder MapEvaluate(this IEndpointRouteBuilder app) =>
        app.MapPost("/v1/evaluate", Evaluate).WithName("Evaluate").WithTags("Evaluate")
            .WithSummary("Loss of a model at given params")
            .WithDescription("Computes the loss (mae, mse, huber or bce) of the polynomial (or the `model`: a formula, or a network on rows of x) " +
                "with `params` on the points, with the engine a fit uses, " +
                "without running a fit or storing anything. The playground checks its slider loss against this.")
            .Accepts<EvaluateRequest>("application/json")
            .Produces<EvaluateResult>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);

    public static async Task<Results<Ok<EvaluateResult>, ValidationProblem, ProblemHttpResult>> Evaluate(
        HttpRequest http, IOptions<LimitsOptions> limits, CancellationToken ct)
    {
        var read = await FitRequestReader.ReadJsonAsync<EvaluateRequest>(http, limits.Value, ct);
        if (read.Request is not { } request)
        {
            return read.Errors is { } readErrors
                ? FitEndpoints.Invalid(readErrors)
                : read.Problem();
        }

        var errors = new ValidationErrors();
        var model = request.Model;
        if (model?.Type is { } type && !NetworkModels.Types.Contains(type)) errors.Add("model.type", $"must be one of {string.Join(", ", NetworkModels.Types)}");
        var isNetwork = NetworkModels.IsNetwork(model);
        var x = FitValidator.ValidateX(request.X, request.Y, limits.Value, errors, rowsAllowed: isNetwork);
        var features = request.X is { AsRows: true } rows ? rows.Features : 1;
        Engine.Networks.NetworkSpec? network = null;
        Engine.Formulas.Formula? formula = null;
        if (isNetwork)
        {
            if (request.Degree is not null) errors.Add("degree", "does not apply with model: give either degree or model");
            network = NetworkModels.Validate(model!, features, limits.Value, errors);
        }
        else if (model is not null) formula = FitValidator.ValidateModel(request.Degree, model, errors);
        else FitValidator.ValidateDegree(request.Degree, errors);
        FitValidator.ValidateLoss(request.Loss, request.HuberDelta, errors, request.Y);
        FitValidator.ValidateWeights(request.Weights, request.X?.Count, isNetwork, errors);
        if (request.Params is null) errors.Add("params", "is required");
        var count = network?.ParameterCount(features) ?? formula?.Parameters.Count ?? Engine.Models.Polynomial.ParameterCount(request.Degree);
        FitValidator.ValidateParams(request.Params, isNetwork && network is null ? null : count,
            network is not null ? "the network's number of params" : formula is null ? "degree + 1" : "the number of params", "params", errors);
        if (errors.Any) return FitEndpoints.Invalid(errors);
        if (Security.SubmissionGuard.CheckRequestWork("An evaluation", x!.Length / features, request.Params!.Length, limits.Value) is { } tooLarge) return tooLarge;

        var lossSpec = FitValidator.ToLossSpec(request.Loss!, request.HuberDelta);
        var loss = network is not null
            ? Engine.Networks.Network.Loss(new FitProblem(x!, request.Y!, 0, lossSpec, 1.0, 1, Network: network, Features: features), request.Params!)
            : formula is not null
                ? Fitter.Evaluate(x!, request.Y!, formula, lossSpec, request.Params!, request.Weights)
                : Fitter.Evaluate(x!, request.Y!, request.Degree!.Value, lossSpec, request.Params!, request.Weights);
        return TypedResults.Ok(new EvaluateResult(FitMapper.FiniteOrNull(loss)));
    }
}
