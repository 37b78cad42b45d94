using System.Text.Json;
using System.Text.Json.Serialization;

namespace FitService.Cli.Client;

/// <summary>The body of <c>POST /v1/fits</c>, and one item (or the defaults) of a batch.</summary>
internal sealed record FitRequest
{
    public double[]? X { get; init; }
    public double[]? Y { get; init; }
    public int? Degree { get; init; }
    public ModelRequest? Model { get; init; }
    public string? Solver { get; init; }
    public string? Loss { get; init; }
    public double? HuberDelta { get; init; }
    /// <summary>A number, or the string <c>"auto"</c> (the service's learning-rate finder picks it).</summary>
    public object? LearningRate { get; init; }
    public int? Steps { get; init; }
    public double[]? InitialParams { get; init; }
    public OptimizerRequest? Optimizer { get; init; }
    public ScheduleRequest? Schedule { get; init; }
    public StopRequest? Stop { get; init; }
    public int? HistoryEvery { get; init; }
    public WebhookRequest? Webhook { get; init; }
    public string? Label { get; init; }
}

/// <summary><c>{"type":"sgd","momentum","dampening","nesterov"}</c> or <c>{"type":"adam","beta1","beta2","epsilon"}</c>.</summary>
internal sealed record OptimizerRequest(string Type)
{
    public double? Momentum { get; init; }
    public double? Dampening { get; init; }
    public bool? Nesterov { get; init; }
    public double? Beta1 { get; init; }
    public double? Beta2 { get; init; }
    public double? Epsilon { get; init; }
}

/// <summary>A learning-rate schedule: <c>{"type":"step","every":100,"gamma":0.5}</c> and so on.</summary>
internal sealed record ScheduleRequest(string Type)
{
    public int? Every { get; init; }
    public double? Gamma { get; init; }
    public double? MinLearningRate { get; init; }
    public double? MaxLearningRate { get; init; }
    public double? WarmupFraction { get; init; }
}

internal sealed record StopRequest
{
    public double? LossBelow { get; init; }
    public double? MinImprovement { get; init; }
    public int? Patience { get; init; }
}

internal sealed record WebhookRequest(string Url);

/// <summary>A formula model instead of a polynomial: <c>{"formula":"a*exp(b*x)+c","params":["a","b","c"]}</c>.</summary>
internal sealed record ModelRequest(string Formula, IReadOnlyList<string> Params)
{
    public bool Equals(ModelRequest? other) => other is not null && Formula == other.Formula && Params.SequenceEqual(other.Params);
    public override int GetHashCode() => Formula.GetHashCode();
}

/// <summary>The fit resource. Fields the client does not model are kept, so <c>--json</c> passes them through.</summary>
internal sealed record Fit
{
    public string Id { get; init; } = "";
    public string Status { get; init; } = "";
    public string? StopReason { get; init; }
    public long Step { get; init; }
    public long Steps { get; init; }
    public double[]? Params { get; init; }
    public double? Loss { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double[]? History { get; init; }
    public int HistoryEvery { get; init; } = 1;
    public DateTimeOffset? CreatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }
    public string? Error { get; init; }
    public string? Label { get; init; }
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; init; }

    [JsonIgnore]
    public bool HasEnded => FitStatus.IsEnded(Status);
}

internal static class FitStatus
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";

    public static bool IsEnded(string status) => status is Succeeded or Failed or Cancelled;
}

/// <summary>One page of <c>GET /v1/fits</c>.</summary>
internal sealed record FitPage(IReadOnlyList<Fit> Items, string? Next);

/// <summary>One page of <c>GET /v1/fits/{id}/history</c>.</summary>
internal sealed record HistoryPage(long Offset, long Limit, long Total, int HistoryEvery, IReadOnlyList<HistoryPoint> Items);

internal sealed record HistoryPoint(long Step, double Loss);

/// <summary>The data of an SSE <c>progress</c> event.</summary>
internal sealed record FitProgress(long Step, double? Loss, double[]? Params);

/// <summary>The body of <c>POST /v1/batches</c>.</summary>
internal sealed record BatchRequest(FitRequest Defaults, IReadOnlyList<FitRequest> Fits);

internal sealed record Batch
{
    public string Id { get; init; } = "";
    public IReadOnlyList<string> FitIds { get; init; } = [];
    public string Status { get; init; } = "";
    public BatchCounts Counts { get; init; } = new();
    public int Total { get; init; }
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; init; }

    /// <summary>Every fit has ended; decided from the counts so it does not depend on the batch status names.</summary>
    [JsonIgnore]
    public bool HasEnded => Counts.Ended >= Total;
}

internal sealed record BatchCounts
{
    public int Queued { get; init; }
    public int Running { get; init; }
    public int Succeeded { get; init; }
    public int Failed { get; init; }
    public int Cancelled { get; init; }

    [JsonIgnore]
    public int Ended => Succeeded + Failed + Cancelled;
}

/// <summary>One line of <c>GET /v1/batches/{id}/results</c> (JSON lines).</summary>
internal sealed record BatchResult
{
    public string? Id { get; init; }
    public string? Label { get; init; }
    public string Status { get; init; } = "";
    public string? StopReason { get; init; }
    public double? Loss { get; init; }
    public double[]? Params { get; init; }
    public string? Error { get; init; }
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; init; }
}

/// <summary>RFC 9457 problem details.</summary>
internal sealed record ProblemDetails
{
    public string? Type { get; init; }
    public string? Title { get; init; }
    public int? Status { get; init; }
    public string? Detail { get; init; }
    public string? Instance { get; init; }
    public Dictionary<string, string[]>? Errors { get; init; }
}

internal static class FitJson
{
    /// <summary>camelCase both ways; numbers kept exact; nulls written, as the service writes them.</summary>
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    /// <summary>For request bodies: fields the user did not set are left out so the service applies its defaults.</summary>
    public static readonly JsonSerializerOptions Requests = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>For <c>--json</c> output.</summary>
    public static readonly JsonSerializerOptions Output = new(JsonSerializerDefaults.Web) { WriteIndented = true };
}
