using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using FitService.Api.Tests.Infrastructure;

namespace FitService.Api.Tests.Fits;

/// <summary>Every invalid request is a 4xx problem naming the field and the rule, and stores nothing.</summary>
public sealed class SubmitValidationTests : IClassFixture<SubmitValidationTests.NoWorkers>
{
    /// <summary>No workers: nothing would run anyway, and the list must stay empty.</summary>
    public sealed class NoWorkers() : FitServiceFactory(("Workers:Count", "0"), ("Limits:MaxPoints", "1000"), ("Limits:MaxSteps", "100000"));

    private readonly NoWorkers _factory;
    private readonly HttpClient _client;

    public SubmitValidationTests(NoWorkers factory)
    {
        _factory = factory;
        _client = factory.CreateClient();
    }

    private const string Valid = """{"x":[1,2,3],"y":[2,4,6],"degree":1,"loss":"mse","learningRate":0.01,"steps":10}""";

    /// <summary>The valid request with one field replaced (or removed, when the value is null).</summary>
    private static string With(string field, string? json)
    {
        var node = JsonNode.Parse(Valid)!.AsObject();
        if (json is null) node.Remove(field);
        else node[field] = JsonNode.Parse(json);
        return node.ToJsonString();
    }

    public static TheoryData<string, string, string> Cases => new()
    {
        { With("x", null), "x", "is required" },
        { With("y", null), "y", "is required" },
        { With("x", "null"), "x", "is required" },
        { With("x", "[]"), "x", "at least 1" },
        { With("y", "[1,2]"), "y", "length 2 differs from x (3)" },
        { With("x", "[1,2,\"a\"]"), "x[2]", "must be" },
        { With("x", "[1,2,1e400]"), "x", "index 2 is not finite" },
        { With("x", "\"1,2,3\""), "x", "must be an array" },
        { With("degree", "21"), "degree", "between 0 and 20" },
        { With("degree", "-1"), "degree", "between 0 and 20" },
        { With("degree", "2.5"), "degree", "whole number" },
        { With("degree", "\"2\""), "degree", "whole number" },
        { With("loss", "\"l1\""), "loss", "one of mae, mse, huber" },
        { With("loss", "\"MAE\""), "loss", "one of mae, mse, huber" },
        { With("huberDelta", "2"), "huberDelta", "only to loss huber" },
        { With("learningRate", "0"), "learningRate", "> 0" },
        { With("learningRate", "-0.1"), "learningRate", "> 0" },
        { With("learningRate", "\"NaN\""), "learningRate", "finite number" },
        { With("steps", "0"), "steps", "between 1 and 100000" },
        { With("steps", "100001"), "steps", "between 1 and 100000" },
        { With("steps", "99999999999"), "steps", "whole number" },
        { With("initialParams", "[1,2,3]"), "initialParams", "length 3 differs from degree + 1 (2)" },
        { With("optimizer", "{\"type\":\"rmsprop\"}"), "optimizer.type", "one of sgd, adam" },
        { With("optimizer", "{}"), "optimizer.type", "is required" },
        { With("optimizer", "{\"type\":\"sgd\",\"momentum\":-1}"), "optimizer.momentum", "≥ 0" },
        { With("optimizer", "{\"type\":\"sgd\",\"nesterov\":true}"), "optimizer.nesterov", "momentum > 0" },
        { With("optimizer", "{\"type\":\"sgd\",\"beta1\":0.9}"), "optimizer.beta1", "does not apply to sgd" },
        { With("optimizer", "{\"type\":\"adam\",\"beta1\":1}"), "optimizer.beta1", "[0, 1)" },
        { With("optimizer", "{\"type\":\"adam\",\"momentum\":0.9}"), "optimizer.momentum", "does not apply to adam" },
        { With("optimizer", "{\"type\":\"sgd\",\"lr\":0.9}"), "optimizer.lr", "not a known field" },
        { With("schedule", "{\"type\":\"linear\"}"), "schedule.type", "must be one of" },
        { With("schedule", "{\"type\":\"step\",\"gamma\":0.5}"), "schedule.every", "is required for step" },
        { With("schedule", "{\"type\":\"exponential\"}"), "schedule.gamma", "is required for exponential" },
        { With("schedule", "{\"type\":\"cosine\",\"gamma\":0.5}"), "schedule.gamma", "does not apply to cosine" },
        { With("schedule", "{\"type\":\"oneCycle\",\"warmupFraction\":1.5}"), "schedule.warmupFraction", "(0, 1)" },
        { With("stop", "{}"), "stop", "needs lossBelow" },
        { With("stop", "{\"minImprovement\":0.1,\"patience\":0}"), "stop.patience", "≥ 1" },
        { With("historyEvery", "0"), "historyEvery", "≥ 1" },
        { With("label", "\"" + new string('a', 201) + "\""), "label", "at most 200" },
        { With("webhook", "{\"url\":\"ftp://example.test/x\"}"), "webhook.url", "absolute http or https" },
        { With("colour", "\"red\""), "colour", "not a known field" },
        { With("X", "[1]"), "X", "not a known field" },
        { """{"x":[1],"x":[2],"y":[1],"degree":0,"loss":"mse","learningRate":1,"steps":1}""", "x", "more than once" },
        { """{"x":[1,2""", "body", "not valid JSON" },
        { "null", "body", "must be a JSON object" },
        { "[1,2,3]", "body", "must be" },
        { With("stop", "{\"lossBelow\":{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":{\"i\":{\"j\":{\"k\":{\"l\":{\"m\":{\"n\":{\"o\":{\"p\":1}}}}}}}}}}}}}}}}}"), "stop.lossBelow", "must be a finite number" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task InvalidFieldIsNamedWithItsRule(string body, string field, string rule)
    {
        var response = await _client.PostAsync("/v1/fits", TestApi.JsonBody(body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.ReadProblem();
        Assert.Equal(400, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()));
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("detail").GetString()));
        var errors = problem.GetProperty("errors");
        Assert.True(errors.TryGetProperty(field, out var messages), $"no error for '{field}' in {errors}");
        Assert.Contains(messages.EnumerateArray(), m => m.GetString()!.Contains(rule, StringComparison.Ordinal));
        await AssertNothingStored();
    }

    [Fact]
    public async Task SeveralBadFieldsAreAllReported()
    {
        var body = """{"x":[1,2,3],"y":[1,2],"degree":1,"loss":"mse","learningRate":-1,"steps":10}""";
        var response = await _client.PostAsync("/v1/fits", TestApi.JsonBody(body));

        var errors = (await response.ReadProblem()).GetProperty("errors");
        Assert.Equal(["learningRate", "y"], errors.EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal("length 2 differs from x (3)", errors.GetProperty("y")[0].GetString());
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/xml")]
    [InlineData(null)]
    public async Task WrongMediaTypeIs415(string? mediaType)
    {
        var content = new ByteArrayContent(System.Text.Encoding.UTF8.GetBytes(Valid));
        if (mediaType is not null) content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(mediaType);
        var response = await _client.PostAsync("/v1/fits", content);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal(415, (await response.ReadProblem()).GetProperty("status").GetInt32());
        await AssertNothingStored();
    }

    [Fact]
    public async Task BodyOverTheLimitDerivedFromMaxPointsIs413()
    {
        // Limits:MaxPoints = 1000 gives a body limit of 64 × 1000 + 1 MiB.
        var huge = "{\"x\":[" + string.Join(",", Enumerable.Repeat("1.0", 400_000)) + "]}";
        var response = await _client.PostAsync("/v1/fits", TestApi.JsonBody(huge));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("Limits:MaxPoints", (await response.ReadProblem()).GetProperty("detail").GetString());
        await AssertNothingStored();
    }

    [Fact]
    public async Task MorePointsThanMaxPointsIsNamed()
    {
        var x = Enumerable.Range(0, 1001).Select(i => (double)i).ToArray();
        var response = await _client.PostFit(new { x, y = x, degree = 1, loss = "mse", learningRate = 0.1, steps = 1 });

        var errors = (await response.ReadProblem()).GetProperty("errors");
        Assert.Contains("at most 1000", errors.GetProperty("x")[0].GetString());
    }

    [Fact]
    public async Task OverlongIdempotencyKeyIsRejected()
    {
        var response = await _client.PostFit(TestApi.SmallFit(), ("Idempotency-Key", new string('k', 201)));

        var errors = (await response.ReadProblem()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("Idempotency-Key", out _));
        await AssertNothingStored();
    }

    private async Task AssertNothingStored()
    {
        var list = await _client.GetFromJsonAsync<JsonElement>("/v1/fits?limit=500");
        Assert.Equal(0, list.GetProperty("items").GetArrayLength());
    }
}
