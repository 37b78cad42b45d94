using System.Text.Json;
using System.Text.Json.Nodes;
using FitService.Api.OpenApi;
using FitService.Api.Tests.Infrastructure;
using FitService.Api.Tests.Security;

namespace FitService.Api.Tests.Contract;

/// <summary>The OpenAPI document is the contract: exact, strict, and equal to the committed docs/openapi.json.</summary>
public sealed class OpenApiDocumentTests(OpenApiDocumentTests.Service factory) : IClassFixture<OpenApiDocumentTests.Service>
{
    public sealed class Service() : FitServiceFactory(("Workers:Count", "0"));

    /// <summary>Set to 1 to write the served document over docs/openapi.json instead of failing on a difference.</summary>
    public const string RefreshVariable = "FITSERVICE_REFRESH_OPENAPI";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private async Task<JsonNode> Served() =>
        JsonNode.Parse(await factory.CreateClient().GetStringAsync("/swagger/v1/swagger.json"))!;

    private static JsonNode Schema(JsonNode doc, string name) => doc["components"]!["schemas"]![name]!;

    private static JsonNode Operation(JsonNode doc, string path, string method) => doc["paths"]![path]![method]!;

    /// <summary>Where the repository's docs/openapi.json is, found from the test's folder upwards.</summary>
    public static string CommittedPath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FitService.sln"))) return Path.Combine(dir.FullName, "docs", "openapi.json");
        }
        throw new InvalidOperationException("FitService.sln not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public async Task TheServedDocumentEqualsTheCommittedCopy()
    {
        var served = (await Served()).ToJsonString(Indented) + "\n";
        var path = CommittedPath();
        if (Environment.GetEnvironmentVariable(RefreshVariable) == "1") await File.WriteAllTextAsync(path, served);

        var committed = File.Exists(path) ? (await File.ReadAllTextAsync(path)).ReplaceLineEndings("\n") : "";
        Assert.True(committed == served,
            "docs/openapi.json differs from the served document: the contract changed. If that is intended, refresh the copy with\n" +
            $"  {RefreshVariable}=1 dotnet test tests/Api.Tests --filter \"FullyQualifiedName~OpenApiDocumentTests\"\n" +
            "and commit the diff (it is the change of contract that reviewers and client users see).");
    }

    [Fact]
    public async Task RequestSchemasCarryTheValidatorsRules()
    {
        var doc = await Served();
        var fit = Schema(doc, "FitRequest");
        Assert.Equal(["x", "y"], fit["required"]!.AsArray().Select(n => n!.GetValue<string>()).Order());
        // loss is optional now (default mse): its enum also holds null, "the default".
        Assert.Equal(["mae", "mse", "huber", "bce"], fit["properties"]!["loss"]!["enum"]!.AsArray().Where(n => n is not null).Select(n => n!.GetValue<string>()));
        Assert.Equal(20, fit["properties"]!["degree"]!["maximum"]!.GetValue<int>());
        Assert.Equal(1_000_000, fit["properties"]!["x"]!["maxItems"]!.GetValue<int>());
        Assert.Equal(1, fit["properties"]!["x"]!["minItems"]!.GetValue<int>());
        Assert.Equal(200, fit["properties"]!["label"]!["maxLength"]!.GetValue<int>());
        Assert.True(fit["properties"]!["huberDelta"]!["exclusiveMinimum"]!.GetValue<bool>());
        // Required fields never take null; an optional one may be null, meaning its default.
        Assert.All(["x", "y"], name => Assert.Null(fit["properties"]![name]!["nullable"]));
        Assert.True(fit["properties"]!["historyEvery"]!["nullable"]!.GetValue<bool>());
        Assert.Null(Schema(doc, "BatchFitRequest")["required"]?.AsArray().FirstOrDefault());
        Assert.Equal("#/components/schemas/BatchFitRequest", Schema(doc, "BatchRequest")["properties"]!["fits"]!["items"]!["$ref"]!.GetValue<string>());
        Assert.Equal(["sgd", "adam"], Schema(doc, "OptimizerDto")["properties"]!["type"]!["enum"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(["type"], Schema(doc, "ScheduleDto")["required"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(10_000, Schema(doc, "BatchRequest")["properties"]!["fits"]!["maxItems"]!.GetValue<int>());
        Assert.Equal(10_000, Schema(doc, "LearningRateFinderRequest")["properties"]!["steps"]!["maximum"]!.GetValue<int>());
        // x: numbers or rows, the numbers first (NSwag's C# client takes the first branch of a oneOf).
        var x = fit["properties"]!["x"]!["oneOf"]!.AsArray();
        Assert.Equal("number", x[0]!["items"]!["type"]!.GetValue<string>());
        Assert.Equal("number", x[1]!["items"]!["items"]!["type"]!.GetValue<string>());
        var model = Schema(doc, "ModelDto")["properties"]!;
        Assert.Equal(["formula", "relu", "mlp", "linear"], model["type"]!["enum"]!.AsArray().Where(n => n is not null).Select(n => n!.GetValue<string>()));
        Assert.Equal(["relu", "tanh", "sigmoid"], model["activation"]!["enum"]!.AsArray().Where(n => n is not null).Select(n => n!.GetValue<string>()));
        Assert.Equal(1024, model["units"]!["maximum"]!.GetValue<int>());
        Assert.Equal(8, model["layers"]!["maxItems"]!.GetValue<int>());
        Assert.Equal(0, fit["properties"]!["seed"]!["minimum"]!.GetValue<int>());
        Assert.Equal(1, fit["properties"]!["batchSize"]!["minimum"]!.GetValue<int>());
    }

    [Fact]
    public async Task NullIsDeclaredWhereTheServiceWritesItAndNowhereElse()
    {
        var doc = await Served();
        var fit = Schema(doc, "FitResource")["properties"]!;
        Assert.Equal("#/components/schemas/OptimumDto", fit["optimum"]!["$ref"]!.GetValue<string>());
        Assert.True(fit["stopReason"]!["nullable"]!.GetValue<bool>());
        Assert.Contains(fit["stopReason"]!["enum"]!.AsArray(), v => v is null);
        Assert.Contains("error", fit["stopReason"]!["enum"]!.AsArray().Select(v => v?.GetValue<string>()));
        Assert.Null(fit["id"]!["nullable"]);
        Assert.Null(fit["status"]!["nullable"]);
        Assert.Null(fit["history"]!["nullable"]);
        Assert.Contains("optimum", Schema(doc, "FitResource")["required"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.DoesNotContain("history", Schema(doc, "FitResource")["required"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(ContractValues.FitStatuses, fit["status"]!["enum"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Equal(["pending", "ready", "failed", "notApplicable"], fit["optimumStatus"]!["enum"]!.AsArray().Select(v => v!.GetValue<string>()));
        // OpenAPI 3.0.3: nullable adds null only to its own schema object, so a nullable property holding a component is a plain
        // $ref and the component itself takes null (a wrapper around the $ref would still send null through the component).
        foreach (var component in new[] { "OptimumDto", "FitStatistics", "LeastSquaresStatistics", "LearningRateSuggestions" })
        {
            Assert.True(Schema(doc, component)["nullable"]?.GetValue<bool>() == true, component);
        }
    }

    [Fact]
    public async Task EveryOperationDocumentsItsProblemsAndHeaders()
    {
        var doc = await Served();
        foreach (var (path, item) in doc["paths"]!.AsObject())
        {
            foreach (var (method, operation) in item!.AsObject())
            {
                var responses = operation!["responses"]!.AsObject();
                Assert.True(responses.ContainsKey("401") && responses.ContainsKey("429") && responses.ContainsKey("503"), $"{method} {path}");
                foreach (var (code, response) in responses.Where(r => int.Parse(r.Key) >= 400))
                {
                    Assert.True(response!["content"]?["application/problem+json"] is not null, $"{method} {path} {code} has no problem-details body");
                }
                Assert.False(string.IsNullOrEmpty(operation["operationId"]?.GetValue<string>()), $"{method} {path}");
            }
        }
        var submit = Operation(doc, "/v1/fits", "post")["responses"]!;
        foreach (var code in new[] { "400", "409", "413", "415", "422", "429" }) Assert.NotNull(submit[code]);
        Assert.NotNull(submit["202"]!["headers"]!["Location"]);
        Assert.NotNull(submit["202"]!["headers"]!["Retry-After"]);
        Assert.NotNull(submit["201"]!["headers"]!["Preference-Applied"]);
        Assert.NotNull(submit["201"]!["headers"]!["Idempotent-Replayed"]);
        foreach (var create in new[] { "/v1/batches", "/v1/lr-finder" })
        {
            var operation = Operation(doc, create, "post");
            Assert.Contains(operation["parameters"]!.AsArray(), p => p!["name"]!.GetValue<string>() == "Idempotency-Key");
            Assert.NotNull(operation["responses"]!["409"]);
        }
        Assert.NotNull(Operation(doc, "/v1/fits/{id}", "get")["responses"]!["304"]);
        Assert.NotNull(Operation(doc, "/v1/fits/{id}", "get")["responses"]!["200"]!["headers"]!["ETag"]);
    }

    [Fact]
    public async Task BodiesThatAreNotJsonHaveTheirExactMediaTypes()
    {
        var doc = await Served();
        var history = Operation(doc, "/v1/fits/{id}/history", "get")["responses"]!["200"]!["content"]!.AsObject();
        Assert.Equal(["application/json", "text/csv"], history.Select(c => c.Key));
        var results = Operation(doc, "/v1/batches/{id}/results", "get")["responses"]!["200"]!["content"]!.AsObject();
        Assert.Equal(["application/x-ndjson", "text/csv"], results.Select(c => c.Key).Order());
        Assert.All(results, c => Assert.Equal("binary", c.Value!["schema"]!["format"]!.GetValue<string>()));
        foreach (var plot in new[] { "/v1/fits/{id}/plot.svg", "/v1/fits/{id}/loss.svg", "/v1/lr-finder/{id}/plot.svg" })
        {
            Assert.Equal("binary", Operation(doc, plot, "get")["responses"]!["200"]!["content"]!["image/svg+xml"]!["schema"]!["format"]!.GetValue<string>());
        }
        var predictions = Operation(doc, "/v1/fits/{id}/predict", "post")["responses"]!["200"]!["content"]!.AsObject();
        Assert.Equal(["application/json", "text/csv"], predictions.Select(c => c.Key));
        Assert.Equal("#/components/schemas/PredictResult", predictions["application/json"]!["schema"]!["$ref"]!.GetValue<string>());
        var csvBody = Operation(doc, "/v1/fits", "post")["requestBody"]!["content"]!["text/csv"]!["schema"]!;
        Assert.Equal("string", csvBody["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task TheDocumentHasServersTagsAndAKeyOptionalInLocalMode()
    {
        var doc = await Served();
        Assert.NotEmpty(doc["servers"]!.AsArray());
        Assert.Contains(doc["tags"]!.AsArray(), t => t!["name"]!.GetValue<string>() == "Fits");
        var security = Operation(doc, "/v1/fits", "post")["security"]!.AsArray();
        Assert.Contains(security, r => r!.AsObject().ContainsKey("Bearer"));
        Assert.Contains(security, r => r!.AsObject().Count == 0);
    }

    [Fact]
    public async Task DocsApiMdExplainsEveryEnumeratedValueAndProblemType()
    {
        var doc = await Served();
        var apiMd = await File.ReadAllTextAsync(Path.Combine(Path.GetDirectoryName(CommittedPath())!, "api.md"));
        var values = new SortedSet<string>(StringComparer.Ordinal);
        void Collect(JsonNode? node)
        {
            switch (node)
            {
                case JsonObject o:
                    if (o["enum"] is JsonArray e) values.UnionWith(e.OfType<JsonValue>().Select(v => v.GetValue<string>()));
                    foreach (var (_, child) in o) Collect(child);
                    break;
                case JsonArray a:
                    foreach (var child in a) Collect(child);
                    break;
            }
        }
        Collect(doc["components"]);
        Collect(doc["paths"]);

        Assert.Contains("bce", values);
        Assert.All(values, v => Assert.True(apiMd.Contains($"`{v}`", StringComparison.Ordinal), $"docs/api.md does not name the enumerated value `{v}`"));
        Assert.All(ContractValues.ProblemTypes, t => Assert.True(apiMd.Contains($"| {t.Key} |", StringComparison.Ordinal) && apiMd.Contains(t.Value, StringComparison.Ordinal),
            $"docs/api.md does not list problem type {t.Key} {t.Value}"));
    }

    [Fact]
    public async Task WithKeysConfiguredTheDocumentRequiresAKey()
    {
        await using var keyed = new FitServiceFactory(Keys.Configured(("Workers:Count", "0")));
        var doc = JsonNode.Parse(await keyed.CreateClient().GetStringAsync("/swagger/v1/swagger.json"))!;

        var security = Operation(doc, "/v1/fits", "post")["security"]!.AsArray();
        Assert.All(security, r => Assert.True(r!.AsObject().ContainsKey("Bearer")));
    }
}
