namespace FitService.Cli.Client;

/// <summary>The body of <c>POST /v1/fits/{id}/predict</c>.</summary>
internal sealed record PredictionRequest(double[] X);

/// <summary>Its answer: f(x) per x, null where not finite.</summary>
internal sealed record Prediction(double?[] Y);
