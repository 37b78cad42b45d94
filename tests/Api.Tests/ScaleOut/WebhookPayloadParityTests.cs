using System.Text.Json.Nodes;
using FitService.Api.Tests.Infrastructure;
using FitService.Api.Tests.Webhooks;
using FitService.Engine;

namespace FitService.Api.Tests.ScaleOut;

/// <summary>
/// A webhook's payload is built from the fit as its worker ended it, not read back from the store: it must still be the
/// fit as the store answers it (GET), time for time, and the same request must send the same payload embedded (SQLite,
/// a Hangfire job per delivery) and on PostgreSQL (drains, big fits' own jobs, the worker's direct delivery).
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class WebhookPayloadParityTests(PostgresCluster cluster)
{
    private static readonly double[] Initial = [1.1, 1.1, 1.1];
    private static readonly double[] DecayX = [.. Enumerable.Range(0, 40).Select(i => i / 20.0)];
    private static readonly double[] DecayY = [.. DecayX.Select(x => 2 * Math.Exp(-1.3 * x) + 0.5)];

    /// <summary>Kinds of fit by the path that ends them, each labelled with its kind; "waited" runs on its request where it can.</summary>
    private static IEnumerable<(string Kind, object Body, bool Waited)> Requests(string url) =>
    [
        ("small", new { x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mae", learningRate = 0.001, steps = 500, initialParams = Initial, label = "small", webhook = new { url } }, false),
        ("diverging", new { x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mse", learningRate = 10.0, steps = 200, initialParams = Initial, label = "diverging", webhook = new { url } }, false),
        ("large", new { x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mae", learningRate = 0.001, steps = 200_000, historyEvery = 10, initialParams = Initial, label = "large", webhook = new { url } }, false),
        ("auto", new { x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mse", learningRate = "auto", steps = 2000, initialParams = Initial, label = "auto", webhook = new { url } }, false),
        ("exact", new { x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mae", solver = "exact", label = "exact", webhook = new { url } }, false),
        ("formula", new
        {
            x = DecayX, y = DecayY, model = new { formula = "a*exp(b*x) + c", @params = new[] { "a", "b", "c" } }, loss = "mse",
            learningRate = 0.05, steps = 3000, initialParams = new[] { 1.0, -0.5, 0.0 }, optimizer = new { type = "adam" }, label = "formula", webhook = new { url },
        }, false),
        ("waited", new { x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mse", learningRate = 0.001, steps = 300, initialParams = Initial, label = "waited", webhook = new { url } }, true),
    ];

    /// <summary>Fields that name or time a resource, which no two runs share.</summary>
    private static readonly HashSet<string> Unshared = ["id", "createdAt", "startedAt", "finishedAt", "historyNext", "timestamp"];

    /// <summary>What an optimum computed after the end changes in the stored fit (the payload was sent with it pending).</summary>
    private static readonly string[] OptimumFields = ["optimum", "gap", "optimumStatus", "optimumError"];

    [PostgresFact]
    public async Task EveryKindOfFitSendsThePayloadGetAnswersAndTheSameInBothModes()
    {
        await using var receiver = await LoopbackReceiver.StartAsync();
        var hook = receiver.NewHook();
        var database = await cluster.CreateDatabaseAsync("payloads");

        Dictionary<string, JsonNode> embedded, shared;
        await using (var service = new FitServiceFactory([("Workers:Count", "2"), .. WebhookSettings.Loopback()]))
        {
            embedded = await RunAllAsync(service.CreateClient(), receiver, hook);
        }
        await using (var service = new FitServiceFactory([
            ("Storage:Provider", "postgres"), ("Storage:ConnectionString", database), ("Workers:Count", "2"), .. WebhookSettings.Loopback()]))
        {
            shared = await RunAllAsync(service.CreateClient(), receiver, hook);
        }

        Assert.Equal(embedded.Keys.Order(), shared.Keys.Order());
        foreach (var (kind, payload) in embedded)
        {
            var theirs = Strip(shared[kind].DeepClone());
            var ours = Strip(payload.DeepClone());
            Assert.True(JsonNode.DeepEquals(ours, theirs), $"{kind}: embedded {ours.ToJsonString()[..Math.Min(600, ours.ToJsonString().Length)]} vs postgres {theirs.ToJsonString()[..Math.Min(600, theirs.ToJsonString().Length)]}");
        }
        // The payloads carry their outcome at all (equal nulls would pass the comparison).
        Assert.Equal("fit.failed", shared["diverging"]["type"]!.GetValue<string>());
        Assert.NotNull(shared["exact"]["data"]!["optimum"]);
        Assert.NotNull(shared["auto"]["data"]!["learningRateChosen"]);
        Assert.NotNull(shared["large"]["data"]!["history"]);
    }

    /// <summary>
    /// Submits every kind, one at a time (so that both modes run each alone, as its own job or drain), waits for its
    /// payload, and checks each against the fit as GET answers it; returns the payloads by kind.
    /// </summary>
    private static async Task<Dictionary<string, JsonNode>> RunAllAsync(HttpClient client, LoopbackReceiver receiver, string hook)
    {
        var ids = new Dictionary<string, string>();
        foreach (var (kind, body, waited) in Requests(receiver.Url(hook)))
        {
            var before = receiver.Received(hook).Count;
            var response = waited ? await client.PostFit(body, ("Prefer", "wait=60")) : await client.PostFit(body);
            Assert.True(response.IsSuccessStatusCode, $"{kind}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            ids[kind] = (await response.ReadFit()).Id;
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (receiver.Received(hook).Count == before)
            {
                Assert.True(DateTime.UtcNow < deadline, $"the webhook of {kind} never arrived");
                await Task.Delay(50);
            }
        }
        var payloads = new Dictionary<string, JsonNode>();
        foreach (var received in receiver.Received(hook))
        {
            var payload = JsonNode.Parse(received.Body)!;
            var id = payload["data"]!["id"]!.GetValue<string>();
            if (ids.FirstOrDefault(p => p.Value == id).Key is { } kind) payloads[kind] = payload;
        }
        Assert.Equal(ids.Keys.Order(), payloads.Keys.Order());
        foreach (var (kind, payload) in payloads)
        {
            var fit = JsonNode.Parse(await client.GetStringAsync($"/v1/fits/{ids[kind]}"))!;
            var data = payload["data"]!.DeepClone();
            // An optimum left pending at the end is stored later; everything else is as the end stored it.
            if (data["optimumStatus"]?.GetValue<string>() == "pending")
            {
                foreach (var field in OptimumFields)
                {
                    data.AsObject().Remove(field);
                    fit.AsObject().Remove(field);
                }
            }
            Assert.True(JsonNode.DeepEquals(fit, data), $"{kind}: GET {Short(fit)} vs payload {Short(data)}");
            Assert.Equal(payload["timestamp"]!.GetValue<DateTimeOffset>(), fit["finishedAt"]!.GetValue<DateTimeOffset>());
        }
        return payloads;
    }

    private static string Short(JsonNode node) => node.ToJsonString() is var s && s.Length > 800 ? s[..800] + "…" : s;

    private static JsonNode Strip(JsonNode node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var name in o.Select(p => p.Key).Where(Unshared.Contains).ToList()) o.Remove(name);
                foreach (var (_, child) in o) if (child is not null) Strip(child);
                break;
            case JsonArray a:
                foreach (var child in a) if (child is not null) Strip(child);
                break;
        }
        return node;
    }
}
