using System.Net;
using FitService.Api.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace FitService.Api.Tests.Webhooks;

/// <summary>Deliveries outlive the process, and the submission rules follow the configuration. Each test starts its own service.</summary>
public sealed class WebhookDurabilityTests : IAsyncLifetime
{
    private LoopbackReceiver _receiver = null!;
    private readonly string _folder = Directory.CreateTempSubdirectory("fitservice-webhooks-").FullName;

    public async Task InitializeAsync() => _receiver = await LoopbackReceiver.StartAsync();

    public async Task DisposeAsync()
    {
        await _receiver.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task ARestartInTheMiddleOfTheBackoffStillDelivers()
    {
        var settings = WebhookSettings.Loopback(backoff: "00:00:04");
        var path = _receiver.NewHook(new Answer(500));
        string id;
        using (var before = new FitServiceFactory(_folder, settings))
        {
            var client = before.CreateClient();
            id = (await (await client.PostFit(WebhookSettings.FitWithWebhook(_receiver.Url(path)), ("Prefer", "wait=30"))).ReadFit()).Id;
            var first = await client.DeliveriesWhen(id, d => d.Items.Count == 1);
            Assert.Equal("pending", first.State);
            Assert.NotNull(first.NextAttemptAt);
        }
        Assert.Single(_receiver.Received(path));

        using var after = new FitServiceFactory(_folder, settings);
        var again = after.CreateClient();
        var deliveries = await again.DeliveriesWhen(id, d => d.State == "delivered");

        Assert.Equal([500, 200], deliveries.Items.Select(a => a.StatusCode));
        var got = await _receiver.WaitForAsync(path, 2);
        Assert.Equal(2, got.Count);
        Assert.Equal(got[0].Id, got[1].Id);
        Assert.True(got[1].SignatureValid);
    }

    [Fact]
    public async Task AnEndedFitWhoseEventWasNeverStoredIsDeliveredAfterARestart()
    {
        var path = _receiver.NewHook();
        string id;
        // No delivery workers: the event is stored but nothing sends it; then we lose it, as a crash right after the fit's end would.
        using (var before = new FitServiceFactory(_folder, [.. WebhookSettings.Loopback(), ("Webhooks:Workers", "0")]))
        {
            var client = before.CreateClient();
            id = (await (await client.PostFit(WebhookSettings.FitWithWebhook(_receiver.Url(path)), ("Prefer", "wait=30"))).ReadFit()).Id;
            await client.DeliveriesWhen(id, d => d.State == "pending");
        }
        Assert.Equal(1L, await SqlAsync("DELETE FROM webhook_events", ""));
        Assert.Empty(_receiver.Received(path));

        using var after = new FitServiceFactory(_folder, WebhookSettings.Loopback());
        var restarted = after.CreateClient(); // starts the service: its recovery pass finds the fit without an event
        var got = Assert.Single(await _receiver.WaitForAsync(path, 1));
        Assert.Equal("msg_" + id, got.Id);
        Assert.Equal("delivered", (await restarted.DeliveriesWhen(id, d => d.State == "delivered")).State);
    }

    [Fact]
    public async Task ACompletedBatchWhoseEventWasNeverStoredIsDeliveredAfterARestart()
    {
        var path = _receiver.NewHook();
        string batchId;
        using (var before = new FitServiceFactory(_folder, [.. WebhookSettings.Loopback(), ("Webhooks:Workers", "0")]))
        {
            var client = before.CreateClient();
            var submitted = await client.PostAsJsonAsync("/v1/batches",
                new { fits = new[] { TestApi.SmallFit(), TestApi.SmallFit(steps: 20) }, webhook = new { url = _receiver.Url(path) } });
            batchId = (await submitted.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("id").GetString()!;
            var wait = new HttpRequestMessage(HttpMethod.Get, $"/v1/batches/{batchId}");
            wait.Headers.TryAddWithoutValidation("Prefer", "wait=30");
            var batch = await (await client.SendAsync(wait)).Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
            Assert.Equal("completed", batch.GetProperty("status").GetString());
            // The event is stored just after the last fit's end is announced: wait for it, then lose it.
            for (var tries = 0; await SqlAsync("SELECT COUNT(*) FROM webhook_events WHERE id = $id", "msg_batch_" + batchId) == 0 && tries < 200; tries++)
                await Task.Delay(50);
        }
        // Lose the stored event, as a crash between the last fit's end and the event would.
        Assert.Equal(1L, await SqlAsync("DELETE FROM webhook_events WHERE id = $id", "msg_batch_" + batchId));
        Assert.Empty(_receiver.Received(path));

        using var after = new FitServiceFactory(_folder, WebhookSettings.Loopback());
        after.CreateClient(); // starts the service: its recovery pass finds the completed batch without an event
        var got = Assert.Single(await _receiver.WaitForAsync(path, 1));
        Assert.Equal("msg_batch_" + batchId, got.Id);
        Assert.True(got.SignatureValid);
        Assert.Contains("\"type\":\"batch.completed\"", got.Body);
    }

    /// <summary>Runs SQL on the service's SQLite file behind its back: a count for a SELECT, the rows changed otherwise.</summary>
    private async Task<long> SqlAsync(string sql, string id)
    {
        await using var db = new SqliteConnection($"Data Source={Path.Combine(_folder, "fits.db")}");
        await db.OpenAsync();
        await using var command = db.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$id", id);
        return sql.StartsWith("SELECT", StringComparison.Ordinal) ? (long)(await command.ExecuteScalarAsync())! : await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task LoopbackIsRefusedUnlessAllowedHostsListsIt()
    {
        using var factory = new FitServiceFactory(("Webhooks:SigningSecret", LoopbackReceiver.Secret));
        var response = await factory.CreateClient().PostFit(WebhookSettings.FitWithWebhook(_receiver.Url(_receiver.NewHook())));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var message = (await response.ReadProblem()).GetProperty("errors").GetProperty("webhook.url")[0].GetString();
        Assert.Contains("127.0.0.1 is loopback", message);
        Assert.Contains("Webhooks:AllowedHosts", message);
    }

    [Fact]
    public async Task HttpsIsRequiredWhenConfigured()
    {
        using var factory = new FitServiceFactory([.. WebhookSettings.Loopback(), ("Webhooks:RequireHttps", "true")]);
        var response = await factory.CreateClient().PostFit(WebhookSettings.FitWithWebhook(_receiver.Url("hook")));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("https", (await response.ReadProblem()).GetProperty("errors").GetProperty("webhook.url")[0].GetString());
    }

    [Fact]
    public async Task WithoutASigningSecretWebhooksAreRefused()
    {
        using var factory = new FitServiceFactory(("Webhooks:AllowedHosts:0", "127.0.0.1"));
        var response = await factory.CreateClient().PostFit(WebhookSettings.FitWithWebhook(_receiver.Url("hook")));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Webhooks:SigningSecret", (await response.ReadProblem()).GetProperty("errors").GetProperty("webhook.url")[0].GetString());
    }
}
