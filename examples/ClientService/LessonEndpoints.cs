using System.Text.Json;
using FitService.Client;
using FitService.Client.Webhooks;
using FitService.Contracts;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace FitService.Examples.ClientService;

/// <summary>What this service does with FitService: runs the lesson's fit for its callers, and receives FitService's webhooks.</summary>
public static class LessonEndpoints
{
    public const string WebhookPath = "/webhooks/fitservice";

    /// <summary>The lesson's 20 points: f(x) = 3x² + 2x + 1 plus noise.</summary>
    private static readonly double[] X =
    [
        -2.0, -1.7894736842105263, -1.5789473684210527, -1.368421052631579, -1.1578947368421053,
        -0.9473684210526316, -0.736842105263158, -0.5263157894736843, -0.3157894736842106, -0.10526315789473695,
        0.10526315789473673, 0.3157894736842106, 0.5263157894736841, 0.7368421052631575, 0.9473684210526314,
        1.1578947368421053, 1.3684210526315788, 1.5789473684210522, 1.789473684210526, 2.0,
    ];

    private static readonly double[] Y =
    [
        11.869037259947495, 6.5432843586588545, 5.939606579202841, 2.6303700318270353, 1.7947412121991926,
        1.9010286691658997, -0.2977375638897217, 1.4315452929860846, -0.2803804699240482, 0.45212987376369906,
        0.2547498278860447, 4.574284186082602, 2.968071084513697, 1.3385438382815777, 5.37544094093368,
        4.887778985586678, 8.246675990830116, 9.246153973833827, 10.26118714933485, 13.693917415398694,
    ];

    public static void MapLesson(this IEndpointRouteBuilder app)
    {
        app.MapPost("/fit-lesson", FitLesson);
        app.MapPost(WebhookPath, ReceiveWebhook);
        app.MapGet("/received/{fitId}", Received);
    }

    /// <summary>The outcome of one lesson fit, as this service tells its own callers.</summary>
    public sealed record LessonResult(string FitId, string Status, double[]? Params, double? Loss, double? FirstLoss);

    /// <summary>Submits the lesson (asking for a webhook when a secret is configured) and waits for it to end.</summary>
    public static async Task<Results<Ok<LessonResult>, ValidationProblem, ProblemHttpResult>> FitLesson(
        FitServiceClient fitService, IOptions<ExampleOptions> options, ILogger<FitServiceClient> logger, CancellationToken ct,
        int steps = 100, double learningRate = 0.01)
    {
        var webhook = options.Value is { WebhookSecret: not null, PublicUrl: { } publicUrl }
            ? new WebhookDto { Url = new Uri(publicUrl, WebhookPath).AbsoluteUri }
            : null;
        var request = new FitRequest
        {
            X = X, Y = Y, Degree = 2, Loss = "mae", LearningRate = new LearningRateValue(learningRate), Steps = steps,
            InitialParams = [1.1, 1.1, 1.1], Label = "lesson from ClientService", Webhook = webhook,
        };
        try
        {
            var fit = await fitService.SubmitFitAsync(request, cancellationToken: ct);
            fit = await fitService.WaitAsync(fit.Id, ct);
            return TypedResults.Ok(new LessonResult(fit.Id, fit.Status, fit.Params, fit.Loss, fit.History?.FirstOrDefault()));
        }
        catch (FitServiceProblemException problem) when (problem.Errors.Count > 0)
        {
            // FitService named the invalid fields: they are this caller's query parameters, so pass them on as our own 400
            return TypedResults.ValidationProblem(problem.Errors.ToDictionary(), detail: problem.Detail, title: problem.Title);
        }
        catch (FitServiceProblemException problem)
        {
            logger.LogWarning("FitService refused the lesson: {Problem}", problem.Message);
            return TypedResults.Problem(statusCode: StatusCodes.Status502BadGateway, title: "FitService refused the fit", detail: problem.Message);
        }
    }

    /// <summary>Accepts a webhook only with a valid, recent signature by FitService's secret; the body is read raw, as signed.</summary>
    public static async Task<Results<NoContent, UnauthorizedHttpResult, ProblemHttpResult>> ReceiveWebhook(
        HttpRequest request, [FromServices] WebhookVerifier? verifier, ReceivedWebhooks received, ILogger<ReceivedWebhooks> logger, CancellationToken ct)
    {
        if (verifier is null)
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No webhook secret is configured");
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, ct);
        var body = buffer.ToArray();
        try
        {
            verifier.Verify(body, name => request.Headers[name].FirstOrDefault());
        }
        catch (WebhookVerificationException e)
        {
            logger.LogWarning("Webhook refused: {Reason}", e.Message);
            return TypedResults.Unauthorized();
        }
        var payload = JsonSerializer.Deserialize<WebhookPayload>(body, FitServiceJson.Options)!;
        if (received.Add(request.Headers[WebhookVerifier.IdHeader]!, payload))
            logger.LogInformation("Fit {FitId} ended: {Type}, loss {Loss}", payload.Data.Id, payload.Type, payload.Data.Loss);
        return TypedResults.NoContent();
    }

    public static Results<Ok<WebhookPayload>, NotFound> Received(string fitId, ReceivedWebhooks received) =>
        received.For(fitId) is { } payload ? TypedResults.Ok(payload) : TypedResults.NotFound();
}
