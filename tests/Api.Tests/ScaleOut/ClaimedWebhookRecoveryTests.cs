using FitService.Api.Storage;
using FitService.Api.Tests.Infrastructure;
using FitService.Api.Tests.Webhooks;

namespace FitService.Api.Tests.ScaleOut;

/// <summary>
/// A worker process stores a fit's event with its first attempt claimed by itself, then sends it. Killed in between, it
/// leaves the event claimed and unsent: another worker process still delivers it once the claim lapses.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ClaimedWebhookRecoveryTests(PostgresCluster cluster)
{
    [PostgresFact]
    public async Task AnEventAWorkerStoredClaimedAndDiedWithIsDeliveredByAnotherWorkerOnceTheClaimLapses()
    {
        await using var receiver = await LoopbackReceiver.StartAsync();
        var hook = receiver.NewHook();
        var database = await cluster.CreateDatabaseAsync("claimed");
        (string, string?)[] shared = [("Storage:Provider", "postgres"), ("Storage:ConnectionString", database), .. WebhookSettings.Loopback()];
        await using var api = new FitServiceFactory([.. shared, ("Workers:Count", "0")]);
        var client = api.CreateClient();
        var id = (await (await client.PostFit(WebhookSettings.FitWithWebhook(receiver.Url(hook)))).ReadFit()).Id;

        // What the dead worker left: the fit ended, its event stored with attempt 1 claimed (for 2 s), never sent.
        await using (var fits = new PostgresFitStore(database))
        await using (var deliveries = new PostgresDeliveryStore(database))
        {
            Assert.Equal(StartOutcome.Run, (await fits.TryStartAsync(id, DateTimeOffset.UtcNow, CancellationToken.None)).Outcome);
            Assert.True(await fits.CompleteAsync(id, new FitCompletion(FitStatus.Succeeded, "steps", 50, [1, 2, 3], 0.5, [2, 1, 0.5], null,
                DateTimeOffset.UtcNow), CancellationToken.None));
            var tenant = (await fits.GetForWorkerAsync(id, CancellationToken.None))!.Tenant;
            var now = DateTimeOffset.UtcNow;
            var e = new NewWebhookEvent("msg_" + id, id, tenant, receiver.Url(hook), "fit.succeeded", "{\"type\":\"fit.succeeded\"}", now);
            Assert.NotNull(await deliveries.CreateClaimedEventAsync(e, now.AddSeconds(2), CancellationToken.None));
        }
        Assert.Empty(receiver.Received(hook));

        // Another worker process: its recovery pass at start finds the event pending at the claim's lapse.
        await using var worker = new FitServiceFactory([.. shared, ("Api:Enabled", "false"), ("Workers:Count", "1")]);
        worker.CreateClient();
        var got = Assert.Single(await receiver.WaitForAsync(hook, 1, seconds: 120));
        Assert.Equal("msg_" + id, got.Id);
        Assert.True(got.SignatureValid);
        var delivered = await client.DeliveriesWhen(id, d => d.State == "delivered", seconds: 60);
        // Attempt 1 died with its worker; the one that reached the receiver is the second.
        Assert.Equal([2], delivered.Items.Select(a => a.Attempt));
    }
}
