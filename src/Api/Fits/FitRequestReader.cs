using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;

namespace FitService.Api.Fits;

/// <summary>A request body read into a <typeparamref name="T"/>, or why it could not be (a status, and field errors for 400).</summary>
/// <remarks>
/// When the only faults are unknown fields, <paramref name="Partial"/> holds the body read without them, so a caller can
/// validate the rest and report every error at once.
/// </remarks>
public sealed record ReadOutcome<T>(T? Request, int Status, string? Title, string? Detail, ValidationErrors? Errors, T? Partial = null) where T : class
{
    /// <summary>The answer to a body that could not be read and has no field errors (413, 415, …).</summary>
    public ProblemHttpResult Problem() => TypedResults.Problem(statusCode: Status, title: Title, detail: Detail);
}

/// <summary>
/// Reads <c>POST /v1/fits</c> bodies: strict JSON (unknown fields, duplicate keys, wrong types and non-finite numbers
/// are errors naming the field) or <c>text/csv</c> points with the other fields as query parameters.
/// </summary>
public static class FitRequestReader
{
    public const int MaxJsonDepth = 16;

    public static readonly JsonSerializerOptions Strict = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        PropertyNameCaseInsensitive = false,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        NumberHandling = JsonNumberHandling.Strict,
        AllowDuplicateProperties = false,
        MaxDepth = MaxJsonDepth,
    };

    /// <summary>Reads a fit: JSON, or CSV points with the fields in the query.</summary>
    public static async Task<ReadOutcome<FitRequest>> ReadAsync(HttpRequest request, LimitsOptions limits, CancellationToken ct)
    {
        var isCsv = MediaType(request) is "text/csv";
        if (!isCsv && !IsJson(request))
        {
            return Fail<FitRequest>(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type",
                $"Send the fit as application/json (or text/csv points with the fields as query parameters), not {request.ContentType ?? "no Content-Type"}.");
        }
        var body = await ReadBodyAsync(request, limits.MaxRequestBytes, ct);
        if (body is null) return TooLarge<FitRequest>(limits);
        return isCsv ? ReadCsv(body, request.Query, limits.MaxPoints) : ReadGuardedJson<FitRequest>(body, limits);
    }

    /// <summary>Reads a strict JSON body of any request type, with the same limits and error reporting as fits.</summary>
    public static async Task<ReadOutcome<T>> ReadJsonAsync<T>(HttpRequest request, LimitsOptions limits, CancellationToken ct) where T : class
    {
        if (!IsJson(request))
        {
            return Fail<T>(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type",
                $"Send application/json, not {request.ContentType ?? "no Content-Type"}.");
        }
        var body = await ReadBodyAsync(request, limits.MaxRequestBytes, ct);
        return body is null ? TooLarge<T>(limits) : ReadGuardedJson<T>(body, limits);
    }

    /// <summary>A string far beyond any field's need (a 10 MB label) is refused before it becomes a .NET string.</summary>
    private static ReadOutcome<T> ReadGuardedJson<T>(byte[] body, LimitsOptions limits) where T : class =>
        Security.JsonGuard.FindOversizedString(body, limits.MaxJsonStringBytes) is { } oversized ? Invalid<T>(oversized.Field, oversized.Message) : ReadJson<T>(body);

    private static string? MediaType(HttpRequest request) =>
        request.ContentType is { } ctype ? ctype.Split(';')[0].Trim().ToLowerInvariant() : null;

    private static bool IsJson(HttpRequest request) =>
        MediaType(request) is { } m && (m == "application/json" || m.EndsWith("+json", StringComparison.Ordinal));

    private static ReadOutcome<T> TooLarge<T>(LimitsOptions limits) where T : class =>
        Fail<T>(StatusCodes.Status413PayloadTooLarge, "Request body too large",
            $"The body may be at most {limits.MaxRequestBytes} bytes (derived from Limits:MaxPoints = {limits.MaxPoints}).");

    /// <summary>The 413 answer for a body over <see cref="LimitsOptions.MaxRequestBytes"/>.</summary>
    public static ProblemHttpResult TooLargeProblem(LimitsOptions limits) =>
        TypedResults.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Request body too large",
            detail: $"The body may be at most {limits.MaxRequestBytes} bytes (derived from Limits:MaxPoints = {limits.MaxPoints}).");

    /// <summary>
    /// The whole body, or null when it is larger than <paramref name="maxBytes"/>. A large body first reserves its room under
    /// <c>Limits:MaxBodyBytesInFlight</c> (<see cref="Security.RequestBodyBudget"/>); one of unknown length (chunked) reserves it a
    /// MiB at a time as it grows past a small one.
    /// </summary>
    public static async Task<byte[]?> ReadBodyAsync(HttpRequest request, long maxBytes, CancellationToken ct)
    {
        if (request.ContentLength > maxBytes) return null;
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = maxBytes + 1;
        }
        var budget = request.HttpContext.RequestServices.GetRequiredService<Security.RequestBodyBudget>();
        try
        {
            if (request.ContentLength is { } length)
            {
                // The declared length is what Kestrel delivers: read straight into the array, with no second copy.
                await budget.ReserveAsync(request.HttpContext, length, ct);
                var body = new byte[length];
                var filled = 0;
                int got;
                while (filled < body.Length && (got = await request.Body.ReadAsync(body.AsMemory(filled), ct)) > 0) filled += got;
                return filled == body.Length ? body : body[..filled];
            }
            return await ReadChunkedAsync(request, budget, maxBytes, ct);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return null;
        }
    }

    private static async Task<byte[]?> ReadChunkedAsync(HttpRequest request, Security.RequestBodyBudget budget, long maxBytes, CancellationToken ct)
    {
        using var buffer = new MemoryStream(4096);
        // Room is taken a MiB at a time as the body grows: a body of unknown length holds only what it has sent.
        var room = Security.RequestBodyBudget.SmallBody;
        // Pooled: a fresh 80 KB chunk per request was most of what the service allocated under load.
        var chunk = System.Buffers.ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk, ct)) > 0)
            {
                if (buffer.Length + read > maxBytes) return null;
                // Never more than all the room: a body larger than it then holds it all, as one of known length does.
                while (buffer.Length + read > room && room - Security.RequestBodyBudget.SmallBody < budget.Room)
                {
                    await budget.ReserveAsync(request.HttpContext, Security.RequestBodyBudget.Unit, ct);
                    room += Security.RequestBodyBudget.Unit;
                }
                buffer.Write(chunk, 0, read);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(chunk);
        }
        return buffer.ToArray();
    }

    public static ReadOutcome<T> ReadJson<T>(byte[] body) where T : class
    {
        try
        {
            var request = JsonSerializer.Deserialize<T>(body, Strict);
            if (request is null) return Invalid<T>("body", "must be a JSON object, not null");
            return new ReadOutcome<T>(request, StatusCodes.Status200OK, null, null, null);
        }
        catch (JsonException e)
        {
            var (field, message) = Describe(e);
            if (message != UnknownField) return Invalid<T>(field, message);
            return UnknownFields<T>(body) ?? Invalid<T>(field, message);
        }
    }

    private const string UnknownField = "is not a known field";

    private static readonly JsonSerializerOptions SkipUnknown = new(Strict) { UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip };

    /// <summary>Every unknown field with its closest known one, and the body read without them when that succeeds.</summary>
    private static ReadOutcome<T>? UnknownFields<T>(byte[] body) where T : class
    {
        var unknown = KnownFields.Unknown<T>(body);
        if (unknown.Count == 0) return null;
        var errors = new ValidationErrors();
        foreach (var (field, message) in unknown) errors.Add(field, message);
        T? partial = null;
        try { partial = JsonSerializer.Deserialize<T>(body, SkipUnknown); }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException) { } // another fault: the unknown fields are reported, the rest once they are fixed
        return new ReadOutcome<T>(null, StatusCodes.Status400BadRequest, "The request is invalid", "See errors for each field.", errors, partial);
    }

    /// <summary>Turns System.Text.Json's exception into the field it concerns and a message for people.</summary>
    internal static (string Field, string Message) Describe(JsonException e)
    {
        var path = e.Path is null or "$" ? "body" : e.Path.StartsWith("$.", StringComparison.Ordinal) ? e.Path[2..] : e.Path.TrimStart('$');
        var text = e.Message;
        var where = e.LineNumber is { } line ? $" (line {line + 1}, position {e.BytePositionInLine + 1})" : "";
        if (text.Contains("could not be mapped to any .NET member", StringComparison.Ordinal))
        {
            var name = text.Split('\'') is { Length: >= 3 } parts ? parts[1] : path;
            var parent = path.Contains('.') ? path[..path.LastIndexOf('.')] + "." : "";
            return (path == "body" ? name : parent + name, UnknownField);
        }
        if (text.StartsWith(LearningRateValueConverter.Message, StringComparison.Ordinal)) return (path, LearningRateValueConverter.Message);
        if (text.StartsWith(XValuesConverter.Message, StringComparison.Ordinal))
        {
            // The converter reads x whole, so the reader's path stops at x; the converter says which item was wrong.
            var at = text.AsSpan(XValuesConverter.Message.Length);
            var index = at.StartsWith(XValuesConverter.At) ? at[XValuesConverter.At.Length..].ToString().Split(' ')[0] : "";
            return (path + index, XValuesConverter.Message);
        }
        if (text.Contains("Duplicate", StringComparison.OrdinalIgnoreCase)) return (path, "appears more than once");
        if (text.Contains("maximum configured depth", StringComparison.Ordinal)) return ("body", $"nests deeper than {MaxJsonDepth} levels");
        if (text.Contains("could not be converted to", StringComparison.Ordinal))
        {
            var expected =
                text.Contains("System.Double[]", StringComparison.Ordinal) ? "an array of finite numbers" :
                text.Contains("Int32", StringComparison.Ordinal) ? "a whole number within range" :
                text.Contains("Double", StringComparison.Ordinal) ? "a finite number" :
                text.Contains("Boolean", StringComparison.Ordinal) ? "true or false" :
                text.Contains("System.String", StringComparison.Ordinal) ? "a string" : "an object";
            return (path, $"must be {expected}");
        }
        return ("body", $"is not valid JSON{where}: {text.Split(" Path:")[0].Split(" LineNumber:")[0]}");
    }

    private static readonly HashSet<string> CsvFields =
    [
        "degree", "loss", "huberDelta", "learningRate", "steps", "historyEvery", "label", "initialParams",
        "optimizer", "momentum", "dampening", "nesterov", "beta1", "beta2", "epsilon",
        "schedule", "every", "gamma", "minLearningRate", "maxLearningRate", "warmupFraction",
        "lossBelow", "minImprovement", "patience", "webhookUrl", "solver", "formula", "params", "x", "y", "w",
        "model", "units", "layers", "activation", "standardize", "seed", "batchSize", "shuffle", "epochs", "historyPerEpoch",
    ];

    /// <summary>
    /// Reads points from a CSV table (see <see cref="CsvTable"/>) and the fit fields from the query. <c>x</c> and <c>y</c> name
    /// the columns (a header name or a 0-based index); by default the columns headed x and y, else the first two. <c>w</c>
    /// names a column of weights (none by default).
    /// </summary>
    public static ReadOutcome<FitRequest> ReadCsv(byte[] body, IQueryCollection query, int maxPoints = int.MaxValue - 2)
    {
        var errors = new ValidationErrors();
        foreach (var key in query.Keys.Where(k => !CsvFields.Contains(k)).Take(KnownFields.MaxReported)) errors.Add(key, KnownFields.Message(key, CsvFields));

        if (CsvTable.Parse(body, maxPoints) is not { } table) return Invalid<FitRequest>("body", "is not valid UTF-8");
        var header = table.Header ?? [];
        var xColumns = table.Columns(query.TryGetValue("x", out var xName) ? xName.ToString() : null, Array.IndexOf(header, "x") is var hx and >= 0 ? hx : 0, "x", errors);
        var yColumn = table.Column(query.TryGetValue("y", out var yName) ? yName.ToString() : null, Array.IndexOf(header, "y") is var hy and >= 0 ? hy : 1, "y", errors);
        var weighted = query.TryGetValue("w", out var wName);
        var wColumn = weighted ? table.Column(wName.ToString(), -1, "w", errors) : null;
        XValues xs = Array.Empty<double>();
        double[] ys = [];
        double[]? ws = null;
        if (xColumns is { } xc && yColumn is { } yc && (!weighted || wColumn is not null))
        {
            var columns = table.Numbers(wColumn is { } wc ? [.. xc, yc, wc] : [.. xc, yc], errors);
            var yAt = xc.Length;
            ys = columns[yAt];
            // Several x columns are the features of a network model, one row a point.
            xs = xc.Length == 1 ? columns[0] : new XValues(CsvTable.Interleave(columns[..yAt]), xc.Length);
            if (weighted)
            {
                ws = columns[yAt + 1];
                // Named by line here, where the line is known; the other weight rules (not all 0) are the validator's.
                var negative = Array.FindIndex(ws, v => v < 0);
                if (negative >= 0) errors.Add("w", $"line {table.Rows[negative].Line}: column {table.Name(wColumn!.Value)} is {ws[negative].ToString("R", CultureInfo.InvariantCulture)}; weights must be ≥ 0");
            }
        }

        var q = new QueryReader(query, errors);
        var optimizer = q.String("optimizer");
        var schedule = q.String("schedule");
        var stopBelow = q.Double("lossBelow");
        var minImprovement = q.Double("minImprovement");
        var patience = q.Int("patience");
        var webhook = q.String("webhookUrl");
        var formula = q.String("formula");
        var parameterNames = q.String("params");
        var modelType = q.String("model");
        var request = new FitRequest
        {
            X = xs,
            Y = ys,
            Weights = ws,
            Degree = q.Int("degree"),
            Model = formula is null && parameterNames is null && modelType is null && !q.HasAny("units", "layers", "activation") ? null : new ModelDto
            {
                Type = modelType,
                Formula = formula,
                Params = parameterNames?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
                Units = q.Int("units"),
                Layers = q.Ints("layers"),
                Activation = q.String("activation"),
            },
            Standardize = q.Bool("standardize"),
            Seed = q.Int("seed"),
            BatchSize = q.Int("batchSize"),
            Shuffle = q.Bool("shuffle"),
            Epochs = q.Int("epochs"),
            HistoryPerEpoch = q.Bool("historyPerEpoch"),
            Loss = q.String("loss"),
            HuberDelta = q.Double("huberDelta"),
            LearningRate = q.String("learningRate") == LearningRateValue.AutoText ? LearningRateValue.Auto
                : q.Double("learningRate") is { } rate ? new LearningRateValue(rate) : null,
            Solver = q.String("solver"),
            Steps = q.Int("steps"),
            HistoryEvery = q.Int("historyEvery"),
            Label = q.String("label"),
            InitialParams = q.Doubles("initialParams"),
            Optimizer = optimizer is null && !q.HasAny("momentum", "dampening", "nesterov", "beta1", "beta2", "epsilon") ? null : new OptimizerDto
            {
                Type = optimizer ?? "sgd",
                Momentum = q.Double("momentum"),
                Dampening = q.Double("dampening"),
                Nesterov = q.Bool("nesterov"),
                Beta1 = q.Double("beta1"),
                Beta2 = q.Double("beta2"),
                Epsilon = q.Double("epsilon"),
            },
            Schedule = schedule is null ? null : new ScheduleDto
            {
                Type = schedule,
                Every = q.Int("every"),
                Gamma = q.Double("gamma"),
                MinLearningRate = q.Double("minLearningRate"),
                MaxLearningRate = q.Double("maxLearningRate"),
                WarmupFraction = q.Double("warmupFraction"),
            },
            Stop = stopBelow is null && minImprovement is null && patience is null ? null
                : new StopDto { LossBelow = stopBelow, MinImprovement = minImprovement, Patience = patience },
            Webhook = webhook is null ? null : new WebhookDto { Url = webhook },
        };
        if (errors.Any) return new ReadOutcome<FitRequest>(null, StatusCodes.Status400BadRequest, "The request is invalid", "See errors for each field.", errors);
        return new ReadOutcome<FitRequest>(request, StatusCodes.Status200OK, null, null, null);
    }


    private static ReadOutcome<T> Fail<T>(int status, string title, string detail) where T : class => new(null, status, title, detail, null);

    private static ReadOutcome<T> Invalid<T>(string field, string message) where T : class
    {
        var errors = new ValidationErrors();
        errors.Add(field, message);
        return new ReadOutcome<T>(null, StatusCodes.Status400BadRequest, "The request is invalid", "See errors for each field.", errors);
    }

    private sealed class QueryReader(IQueryCollection query, ValidationErrors errors)
    {
        public bool HasAny(params string[] keys) => keys.Any(query.ContainsKey);

        public string? String(string key) => query.TryGetValue(key, out var v) ? v.ToString() : null;

        public int? Int(string key) => Parse(key, s => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : (int?)null, "a whole number");

        public double? Double(string key) => Parse(key, s => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) ? v : (double?)null, "a finite number");

        public bool? Bool(string key) => Parse(key, s => bool.TryParse(s, out var v) ? v : (bool?)null, "true or false");

        public int[]? Ints(string key)
        {
            if (String(key) is not { } text) return null;
            var parts = text.Split(',');
            var values = new int[parts.Length];
            for (var i = 0; i < parts.Length; i++)
            {
                if (!int.TryParse(parts[i].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out values[i]))
                {
                    errors.Add(key, "must be comma-separated whole numbers");
                    return null;
                }
            }
            return values;
        }

        public double[]? Doubles(string key)
        {
            if (String(key) is not { } text) return null;
            var parts = text.Split(',');
            var values = new double[parts.Length];
            for (var i = 0; i < parts.Length; i++)
            {
                if (!double.TryParse(parts[i].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]) || !double.IsFinite(values[i]))
                {
                    errors.Add(key, "must be comma-separated finite numbers");
                    return null;
                }
            }
            return values;
        }

        private T? Parse<T>(string key, Func<string, T?> parse, string expected) where T : struct
        {
            if (String(key) is not { } text) return null;
            var value = parse(text.Trim());
            if (value is null) errors.Add(key, $"must be {expected}");
            return value;
        }
    }
}
