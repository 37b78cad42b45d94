using System.Net;
using System.Text.Json.Nodes;
using FitService.Api.Fits;
using FitService.Api.Tests.Fits;
using FitService.Api.Tests.Infrastructure;

namespace FitService.Api.Tests.ScaleOut;

/// <summary>
/// On PostgreSQL, a small fit submitted with <c>Prefer: wait</c> to an API-only process (no workers anywhere here for it
/// to wait on) runs on its request and is stored once, ended, in one statement.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class InlineFitPostgresTests(PostgresCluster cluster)
{
    private async Task<string> DatabaseAsync() => await cluster.CreateDatabaseAsync("inline");

    private static FitServiceFactory Api(string database, int workers = 0) =>
        new(("Storage:Provider", "postgres"), ("Storage:ConnectionString", database), ("Workers:Count", workers.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    [PostgresFact]
    public async Task EverySmallFitRunInlineGivesTheResourceAWorkerGivesOnBothStores()
    {
        var database = await DatabaseAsync();
        await using var api = Api(database);
        await using var worker = new FitServiceFactory(("Storage:Provider", "postgres"), ("Storage:ConnectionString", database),
            ("Api:Enabled", "true"), ("Workers:Count", "2"));
        await using var embedded = new FitServiceFactory(("Workers:Count", "2"));
        var client = api.CreateClient();
        var workerClient = worker.CreateClient();
        var embeddedClient = embedded.CreateClient();

        foreach (var (kind, body) in InlineFitRequests.All)
        {
            var waited = await client.PostFit(body, ("Prefer", "wait=30"));
            Assert.True(waited.StatusCode == HttpStatusCode.Created, $"{kind}: {(int)waited.StatusCode} {await waited.Content.ReadAsStringAsync()}");
            var answered = JsonNode.Parse(await waited.Content.ReadAsStringAsync())!;
            var stored = JsonNode.Parse(await client.GetStringAsync($"/v1/fits/{answered["id"]}"))!;
            Assert.True(JsonNode.DeepEquals(answered, stored), $"{kind}: answered {answered.ToJsonString()}\nstored {stored.ToJsonString()}");

            // The same request queued, through a worker on PostgreSQL and through the embedded store.
            var onPostgres = await Settled.ReadAsync(workerClient, $"/v1/fits/{(await (await workerClient.PostFit(body)).ReadFit()).Id}");
            var onSqlite = await Settled.ReadAsync(embeddedClient, $"/v1/fits/{(await (await embeddedClient.PostFit(body)).ReadFit()).Id}");
            var inline = Settled.Strip(answered);
            Assert.True(JsonNode.DeepEquals(inline, onPostgres), $"{kind} inline vs queued on postgres:\n{inline.ToJsonString()}\n{onPostgres.ToJsonString()}");
            Assert.True(JsonNode.DeepEquals(inline, onSqlite), $"{kind} inline on postgres vs queued embedded:\n{inline.ToJsonString()}\n{onSqlite.ToJsonString()}");
        }
    }

    [PostgresFact]
    public async Task RequestsRacingWithOneKeyOnTwoApiProcessesStoreOneFitAndEachGetsItOrAConflict()
    {
        var database = await DatabaseAsync();
        // With workers: a request that finds no free inline slot stores its fit queued, and the waiters still get an end.
        await using var first = Api(database, workers: 1);
        await using var second = Api(database, workers: 1);
        HttpClient[] clients = [first.CreateClient(), second.CreateClient()];
        var key = Guid.NewGuid().ToString();

        var responses = await Task.WhenAll(Enumerable.Range(0, 16).Select(i =>
            clients[i % 2].PostFit(TestApi.SmallFit(steps: i % 4 < 2 ? 100 : 101, label: "race"), ("Prefer", "wait=30"), ("Idempotency-Key", key))));

        var stored = Assert.Single((await clients[0].GetFromJsonAsync<FitList>("/v1/fits?label=race", TestApi.Json))!.Items);
        Assert.Equal("succeeded", stored.Status);
        for (var i = 0; i < responses.Length; i++)
        {
            if ((i % 4 < 2 ? 100 : 101) == stored.Steps)
            {
                Assert.Equal(HttpStatusCode.Created, responses[i].StatusCode);
                Assert.Equal(stored.Id, (await responses[i].ReadFit()).Id);
            }
            else
            {
                Assert.Equal(HttpStatusCode.Conflict, responses[i].StatusCode);
            }
        }
        Assert.Single(responses, r => !r.Headers.Contains(IdempotencyKey.ReplayedHeader) && r.StatusCode == HttpStatusCode.Created);
    }
}
