using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using FitService.Api.Tests.Fits;
using FitService.Api.Tests.Infrastructure;
using FitService.Engine;

namespace FitService.Api.Tests.ScaleOut;

/// <summary>
/// The same requests, embedded (SQLite, a job per fit) and on PostgreSQL (small fits in drain jobs, big ones a job each),
/// give the same resources field for field; only ids and times may differ.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ModeParityTests(PostgresCluster cluster)
{
    private static readonly double[] DecayX = [.. Enumerable.Range(0, 40).Select(i => i / 20.0)];
    private static readonly double[] DecayY = [.. DecayX.Select(x => 2 * Math.Exp(-1.3 * x) + 0.5)];
    private static readonly double[] Initial = [1.1, 1.1, 1.1];
    private static readonly double[][] TitanicRows = Titanic.Rows(60);
    private static readonly double[] TitanicSurvived = Titanic.Survived(60);

    /// <summary>Every kind of fit, by the path that runs it.</summary>
    private static readonly (string Kind, string Path, object Body)[] Requests =
    [
        ("small", "/v1/fits", new { x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mae", learningRate = 0.001, steps = 500, initialParams = Initial }),
        ("small huber", "/v1/fits", new { x = LessonData.X, y = LessonData.Y, degree = 2, loss = "huber", learningRate = 0.001, steps = 400, initialParams = Initial }),
        ("small diverging", "/v1/fits", new { x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mse", learningRate = 10.0, steps = 200, initialParams = Initial }),
        ("large", "/v1/fits", new { x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mae", learningRate = 0.001, steps = 200_000, initialParams = Initial }),
        ("auto", "/v1/fits", new { x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mse", learningRate = "auto", steps = 2000, initialParams = Initial }),
        ("exact", "/v1/fits", new { x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mae", solver = "exact" }),
        ("formula", "/v1/fits", new
        {
            x = DecayX, y = DecayY, model = new { formula = "a*exp(b*x) + c", @params = new[] { "a", "b", "c" } }, loss = "mse",
            learningRate = 0.05, steps = 3000, initialParams = new[] { 1.0, -0.5, 0.0 }, optimizer = new { type = "adam" },
        }),
        ("relu", "/v1/fits", new { x = LessonData.X, y = LessonData.Y, model = new { type = "relu", units = 8 }, learningRate = 0.01, steps = 300, seed = 5, optimizer = new { type = "adam" } }),
        ("mlp bce", "/v1/fits", new
        {
            x = TitanicRows, y = TitanicSurvived, model = new { type = "mlp", layers = new[] { 8, 4 }, activation = "tanh" }, loss = "bce",
            standardize = true, batchSize = 16, shuffle = true, seed = 3, epochs = 5, learningRate = 0.01, optimizer = new { type = "adam" },
        }),
        ("linear exact", "/v1/fits", new { x = TitanicRows, y = TitanicSurvived, model = new { type = "linear" }, standardize = true, solver = "exact" }),
        ("finder", "/v1/lr-finder", new { x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mse", initialParams = Initial }),
    ];

    private static readonly object Batch = new
    {
        defaults = new { degree = 1, loss = "mse", learningRate = 0.02, steps = 500 },
        fits = Enumerable.Range(0, 6).Select(i => new { x = new[] { 0.0, 1.0, 2.0, 3.0 }, y = new[] { 1.0, 3.0 + i, 5.0 + 2 * i, 7.0 + 3 * i }, label = $"set-{i}" }).ToArray(),
    };

    /// <summary>Fields that name or time a resource, which no two runs share.</summary>
    private static readonly HashSet<string> Unshared = ["id", "createdAt", "startedAt", "finishedAt", "fitIds", "batchId", "historyNext"];

    [PostgresFact]
    public async Task EveryKindOfFitGivesTheSameResourceEmbeddedAndOnPostgres()
    {
        var database = await cluster.CreateDatabaseAsync("parity");
        await using var embedded = new FitServiceFactory(("Workers:Count", "2"));
        await using var shared = new FitServiceFactory(("Storage:Provider", "postgres"), ("Storage:ConnectionString", database), ("Workers:Count", "2"));

        var expected = await RunAllAsync(embedded.CreateClient());
        var actual = await RunAllAsync(shared.CreateClient());

        Assert.Equal(expected.Keys, actual.Keys);
        foreach (var (kind, resource) in expected)
        {
            Assert.True(JsonNode.DeepEquals(resource, actual[kind]), $"{kind} differs in {Differences(resource, actual[kind])}");
        }
        // The outcome is there at all (equal nulls would pass the comparison).
        Assert.NotNull(actual["small"]["optimum"]);
        Assert.NotNull(actual["small"]["gap"]);
        Assert.NotNull(actual["auto"]["learningRateChosen"]);
        Assert.NotNull(actual["auto"]["learningRateSuggestions"]);
        Assert.NotNull(actual["exact"]["optimum"]);
        Assert.NotNull(actual["finder"]["curve"]);
        Assert.NotNull(actual["batch fit 3"]["optimum"]);
        Assert.NotNull(actual["relu"]["paramsByLayer"]);
        Assert.NotNull(actual["mlp bce"]["standardization"]);
        Assert.NotNull(actual["linear exact"]["optimum"]);
    }

    private static async Task<Dictionary<string, JsonNode>> RunAllAsync(HttpClient client)
    {
        var resources = new Dictionary<string, JsonNode>();
        foreach (var (kind, path, body) in Requests)
        {
            var response = await client.PostAsJsonAsync(path, body);
            Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{kind}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
            resources[kind] = await WaitForEndAsync(client, $"{path}/{id}");
        }
        var batch = await client.PostAsJsonAsync("/v1/batches", Batch);
        Assert.Equal(HttpStatusCode.Accepted, batch.StatusCode);
        var batchId = (await batch.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        resources["batch"] = await WaitForEndAsync(client, $"/v1/batches/{batchId}", "completed");
        var fitIds = (await client.GetFromJsonAsync<JsonElement>($"/v1/batches/{batchId}")).GetProperty("fitIds").EnumerateArray().Select(e => e.GetString()).ToList();
        for (var i = 0; i < fitIds.Count; i++) resources[$"batch fit {i}"] = await WaitForEndAsync(client, $"/v1/fits/{fitIds[i]}");
        resources["batch results"] = new JsonArray([.. (await client.GetStringAsync($"/v1/batches/{batchId}/results")).TrimEnd('\n').Split('\n')
            .Select(line => Strip(JsonNode.Parse(line)!))]);
        return resources;
    }

    /// <summary>Waits (generously: the machine is shared) until the resource's status is an end, and returns it without its ids and times.</summary>
    private static async Task<JsonNode> WaitForEndAsync(HttpClient client, string url, params string[] ends)
    {
        string[] ended = ends.Length > 0 ? ends : ["succeeded", "failed", "cancelled"];
        for (var tries = 0; ; tries++)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.TryAddWithoutValidation("Prefer", "wait=30");
            var response = await client.SendAsync(request);
            response.EnsureSuccessStatusCode();
            var node = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            // An optimum may follow the end ("pending", then "ready" or "failed"): compare settled resources.
            var settled = node["optimumStatus"]?.GetValue<string>() != "pending";
            if (ended.Contains(node["status"]!.GetValue<string>()) && settled) return Strip(node);
            Assert.True(tries < 200, $"{url} is still {node["status"]} (optimum {node["optimumStatus"]}) after {tries} waits");
            if (ended.Contains(node["status"]!.GetValue<string>())) await Task.Delay(50);
        }
    }

    /// <summary>The top-level fields that differ, with both values (short enough to read in a test report).</summary>
    private static string Differences(JsonNode expected, JsonNode actual)
    {
        if (expected is not JsonObject e || actual is not JsonObject a) return $"{Short(expected)} vs {Short(actual)}";
        var names = e.Select(p => p.Key).Union(a.Select(p => p.Key));
        return string.Join("; ", names.Where(n => !JsonNode.DeepEquals(e[n], a[n])).Select(n => $"{n}: embedded {Short(e[n])}, postgres {Short(a[n])}"));
    }

    private static string Short(JsonNode? node) => node?.ToJsonString() is { } s ? s.Length > 300 ? s[..300] + "…" : s : "null";

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
