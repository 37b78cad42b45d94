using System.Text.Json;
using FitService.Api.Tests.Infrastructure;
using FitService.Api.Webhooks;

namespace FitService.Api.Tests.Webhooks;

/// <summary>
/// Settings for a service whose webhooks may reach the loopback receiver, with a short retry schedule. The timeout is
/// generous: on a loaded machine the receiver may take over a second to answer, and an attempt cut off by the clock
/// would be one more attempt than a test expects. A test of timeouts gives its receiver an answer far slower still.
/// </summary>
public static class WebhookSettings
{
    public static (string, string?)[] Loopback(string backoff = "00:00:00.3", int retries = 3, string timeout = "00:00:05") =>
    [
        ("Webhooks:SigningSecret", LoopbackReceiver.Secret),
        ("Webhooks:AllowedHosts:0", "127.0.0.1"),
        ("Webhooks:Timeout", timeout),
        ("Webhooks:Jitter", "0"),
        .. Enumerable.Range(0, retries).Select(i => ($"Webhooks:Backoff:{i}", (string?)backoff)),
    ];

    public static object FitWithWebhook(string url, int steps = 50) => new
    {
        x = new[] { -2.0, -1.0, 0.0, 1.0, 2.0 },
        y = new[] { 9.0, 2.0, 1.0, 6.0, 17.0 },
        degree = 2,
        loss = "mse",
        learningRate = 0.01,
        steps,
        webhook = new { url },
    };

    public static async Task<DeliveryList> Deliveries(this HttpClient client, string fitId, string of = "fits") =>
        (await client.GetFromJsonAsync<DeliveryList>($"/v1/{of}/{fitId}/deliveries", TestApi.Json))!;

    /// <summary>Polls the deliveries of a fit (or, with <paramref name="of"/> "batches", a batch) until <paramref name="done"/> holds.</summary>
    public static async Task<DeliveryList> DeliveriesWhen(this HttpClient client, string fitId, Func<DeliveryList, bool> done, int seconds = 30, string of = "fits")
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var list = await client.Deliveries(fitId, of);
            if (done(list)) return list;
            Assert.True(DateTime.UtcNow < deadline, $"deliveries of {fitId} never got there: {JsonSerializer.Serialize(list)}");
            await Task.Delay(50);
        }
    }
}

/// <summary>One service and one receiver shared by a test class.</summary>
public sealed class WebhookService : IAsyncLifetime
{
    public LoopbackReceiver Receiver { get; private set; } = null!;
    public FitServiceFactory Factory { get; } = new(WebhookSettings.Loopback());

    public async Task InitializeAsync() => Receiver = await LoopbackReceiver.StartAsync();

    public async Task DisposeAsync()
    {
        await Receiver.DisposeAsync();
        Factory.Dispose();
    }
}
