using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using FitService.Api.Fits;
using FitService.Api.Tests.Infrastructure;
using FitService.Api.Tests.Webhooks;
using FitService.Engine;

namespace FitService.Api.Tests.Fits;

/// <summary>
/// A small fit submitted with <c>Prefer: wait</c> runs on its request and is stored once, already ended. The service that
/// runs them here has no workers (<c>Workers:Count=0</c>): a 201 can only come from a fit run on its request.
/// </summary>
public sealed class InlineFitTests : IAsyncLifetime
{
    private readonly FitServiceFactory _inline = new(("Workers:Count", "0"));
    // Webhooks are delivered by worker processes: the webhook test submits here (a small waited fit runs inline all the same).
    private readonly FitServiceFactory _queued = new([("Workers:Count", "2"), .. WebhookSettings.Loopback()]);
    private LoopbackReceiver _receiver = null!;

    public async Task InitializeAsync() => _receiver = await LoopbackReceiver.StartAsync();

    public async Task DisposeAsync()
    {
        await _receiver.DisposeAsync();
        await _inline.DisposeAsync();
        await _queued.DisposeAsync();
    }

    /// <summary>Small fits of every kind the submit path takes, each well under <c>Workers:InlineFitWork</c>.</summary>
    public static TheoryData<string> Kinds => [.. InlineFitRequests.All.Keys];

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task ASmallFitWaitedForGivesTheResourceTheQueuedPathGives(string kind)
    {
        var body = InlineFitRequests.All[kind];
        var waited = await _inline.CreateClient().PostFit(body, ("Prefer", "wait=30"));
        Assert.True(waited.StatusCode == HttpStatusCode.Created, $"{kind}: {(int)waited.StatusCode} {await waited.Content.ReadAsStringAsync()}");
        Assert.Equal("wait=30", waited.Headers.GetValues("Preference-Applied").Single());
        var answered = JsonNode.Parse(await waited.Content.ReadAsStringAsync())!;

        var queuedClient = _queued.CreateClient();
        var accepted = await queuedClient.PostFit(body);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var queuedId = (await accepted.ReadFit()).Id;

        Assert.True(JsonNode.DeepEquals(Settled.Strip(answered.DeepClone()), await Settled.ReadAsync(queuedClient, $"/v1/fits/{queuedId}")),
            $"{kind}: inline {answered.ToJsonString()}");
        // The answer is the stored fit, times and all, as any later GET reads it.
        var stored = JsonNode.Parse(await _inline.CreateClient().GetStringAsync($"/v1/fits/{answered["id"]}"))!;
        Assert.True(JsonNode.DeepEquals(answered, stored), $"{kind}: answered {answered.ToJsonString()}\nstored {stored.ToJsonString()}");
        Assert.True(Settled.Ended(answered));
    }

    [Fact]
    public async Task WithoutPreferWaitASmallFitIsQueuedAsBefore()
    {
        var response = await _inline.CreateClient().PostFit(TestApi.SmallFit());

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var fit = await response.ReadFit();
        Assert.Equal("queued", fit.Status);
        Assert.Null(fit.StartedAt);
    }

    [Fact]
    public async Task ARetryWithTheKeyOfAnInlineFitReturnsThatFitAndAnotherBodyIsAConflict()
    {
        var client = _inline.CreateClient();
        var key = Guid.NewGuid().ToString();
        var first = await client.PostFit(TestApi.SmallFit(label: "idem"), ("Prefer", "wait=30"), ("Idempotency-Key", key));
        var again = await client.PostFit(TestApi.SmallFit(label: "idem"), ("Prefer", "wait=30"), ("Idempotency-Key", key));
        var other = await client.PostFit(TestApi.SmallFit(steps: 7, label: "idem"), ("Prefer", "wait=30"), ("Idempotency-Key", key));

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        Assert.Equal("true", again.Headers.GetValues(IdempotencyKey.ReplayedHeader).Single());
        Assert.Equal(await first.Content.ReadAsStringAsync(), await again.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Conflict, other.StatusCode);
        var list = (await client.GetFromJsonAsync<FitList>("/v1/fits?label=idem", TestApi.Json))!;
        Assert.Equal((await first.ReadFit()).Id, Assert.Single(list.Items).Id);
    }

    [Fact]
    public async Task RequestsRacingWithOneKeyStoreOneFitAndEachGetsItOrAConflict()
    {
        // With workers: a request that finds no free inline slot stores its fit queued, and the waiters still get an end.
        var client = _queued.CreateClient();
        var key = Guid.NewGuid().ToString();
        // Two bodies under one key, sent at once: whichever is stored first wins; its twins replay it, the others conflict.
        var responses = await Task.WhenAll(Enumerable.Range(0, 16).Select(i =>
            client.PostFit(TestApi.SmallFit(steps: i % 2 == 0 ? 100 : 101, label: "race"), ("Prefer", "wait=30"), ("Idempotency-Key", key))));

        var list = (await client.GetFromJsonAsync<FitList>("/v1/fits?label=race", TestApi.Json))!;
        var stored = Assert.Single(list.Items);
        foreach (var (response, i) in responses.Select((r, i) => (r, i)))
        {
            if ((i % 2 == 0 ? 100 : 101) == stored.Steps)
            {
                Assert.Equal(HttpStatusCode.Created, response.StatusCode);
                Assert.Equal(stored.Id, (await response.ReadFit()).Id);
            }
            else
            {
                Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
            }
        }
        Assert.Single(responses, r => !r.Headers.Contains(IdempotencyKey.ReplayedHeader) && r.StatusCode == HttpStatusCode.Created);
    }

    [Fact]
    public async Task TheWebhookOfAnInlineFitArrivesSignedWithTheStoredResource()
    {
        var client = _queued.CreateClient();
        var hook = _receiver.NewHook();
        var response = await client.PostFit(WebhookSettings.FitWithWebhook(_receiver.Url(hook)), ("Prefer", "wait=30"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var fit = await response.ReadFit();

        var received = Assert.Single(await _receiver.WaitForAsync(hook, 1, seconds: 60));
        Assert.True(received.SignatureValid);
        var payload = JsonNode.Parse(received.Body)!;
        Assert.Equal("fit.succeeded", payload["type"]!.GetValue<string>());
        Assert.Equal(fit.Id, payload["data"]!["id"]!.GetValue<string>());
        Assert.Equal(fit.Params, payload["data"]!["params"]!.Deserialize<double[]>());
        Assert.Equal(fit.History!.Select(h => (double?)h), payload["data"]!["history"]!.Deserialize<double?[]>());
    }
}

/// <summary>The small requests the inline path is checked with (lesson data; each well under the default inline work).</summary>
public static class InlineFitRequests
{
    private static readonly double[] Initial = [1.1, 1.1, 1.1];
    private static readonly double[] DecayX = [.. Enumerable.Range(0, 40).Select(i => i / 20.0)];
    private static readonly double[] DecayY = [.. DecayX.Select(x => 2 * Math.Exp(-1.3 * x) + 0.5)];
    private static readonly double[] Weights = [.. Enumerable.Range(0, LessonData.X.Length).Select(i => 1.0 + i % 3)];

    public static readonly IReadOnlyDictionary<string, object> All = new Dictionary<string, object>
    {
        // The lesson: MAE, 100 steps: its optimum costs more than a fifth of the descent, so a worker stores it after the end.
        ["lesson mae"] = new { x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mae", learningRate = 0.001, steps = 100 },
        ["mse"] = new { x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mse", learningRate = 0.01, steps = 500 },
        ["huber"] = new { x = LessonData.X, y = LessonData.Y, degree = 2, loss = "huber", learningRate = 0.001, steps = 400, initialParams = Initial },
        ["diverging"] = new { x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mse", learningRate = 10.0, steps = 200, initialParams = Initial },
        ["weighted"] = new { x = LessonData.X, y = LessonData.Y, weights = Weights, degree = 1, loss = "mse", learningRate = 0.001, steps = 300 },
        ["auto"] = new { x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mse", learningRate = "auto", steps = 500, initialParams = Initial },
        ["exact"] = new { x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mae", solver = "exact" },
        ["formula"] = new
        {
            x = DecayX, y = DecayY, model = new { formula = "a*exp(b*x) + c", @params = new[] { "a", "b", "c" } }, loss = "mse",
            learningRate = 0.05, steps = 1000, initialParams = new[] { 1.0, -0.5, 0.0 }, optimizer = new { type = "adam" },
        },
        ["relu"] = new { x = LessonData.X, y = LessonData.Y, model = new { type = "relu", units = 8 }, learningRate = 0.01, steps = 300, seed = 5, optimizer = new { type = "adam" } },
        ["history every"] = new { x = LessonData.X, y = LessonData.Y, degree = 3, loss = "mse", learningRate = 0.0001, steps = 1000, historyEvery = 7, label = "every" },
    };
}

/// <summary>Reading a fit once it has settled (ended, its optimum no longer pending), without the fields no two runs share.</summary>
public static class Settled
{
    private static readonly HashSet<string> Unshared = ["id", "createdAt", "startedAt", "finishedAt", "historyNext"];

    public static bool Ended(JsonNode fit) => fit["status"]!.GetValue<string>() is "succeeded" or "failed" or "cancelled";

    public static async Task<JsonNode> ReadAsync(HttpClient client, string url)
    {
        for (var tries = 0; ; tries++)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.TryAddWithoutValidation("Prefer", "wait=30");
            var response = await client.SendAsync(request);
            response.EnsureSuccessStatusCode();
            var node = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            // An optimum may follow the end ("pending", then "ready" or "failed").
            var settled = node["optimumStatus"]?.GetValue<string>() != "pending";
            if (Ended(node) && settled) return Strip(node);
            Assert.True(tries < 400, $"{url} is still {node["status"]} (optimum {node["optimumStatus"]}) after {tries} waits");
            if (Ended(node)) await Task.Delay(50);
        }
    }

    public static JsonNode Strip(JsonNode node)
    {
        if (node is JsonObject o)
        {
            foreach (var name in o.Select(p => p.Key).Where(Unshared.Contains).ToList()) o.Remove(name);
        }
        return node;
    }
}
