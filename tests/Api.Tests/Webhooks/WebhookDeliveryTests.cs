using System.Net;
using System.Text.Json;
using FitService.Api.Tests.Infrastructure;

namespace FitService.Api.Tests.Webhooks;

/// <summary>Webhooks end to end: a fit ends, a real loopback receiver gets the signed event, retries follow the schedule.</summary>
public sealed class WebhookDeliveryTests(WebhookService service) : IClassFixture<WebhookService>
{
    private readonly HttpClient _client = service.Factory.CreateClient();
    private LoopbackReceiver Receiver => service.Receiver;

    private async Task<string> SubmitAndWait(string path, int steps = 50)
    {
        var fit = await (await _client.PostFit(WebhookSettings.FitWithWebhook(Receiver.Url(path), steps), ("Prefer", "wait=30"))).ReadFit();
        return fit.Id;
    }

    [Fact]
    public async Task AnEndedFitDeliversOneSignedEventWithTheFitResource()
    {
        var path = Receiver.NewHook();
        var fit = await (await _client.PostFit(WebhookSettings.FitWithWebhook(Receiver.Url(path)), ("Prefer", "wait=30"))).ReadFit();

        var got = Assert.Single(await Receiver.WaitForAsync(path, 1));
        Assert.True(got.SignatureValid, "the signature verifies with the Standard Webhooks algorithm");
        Assert.Equal("msg_" + fit.Id, got.Id);
        Assert.InRange(long.Parse(got.Timestamp), DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
        Assert.StartsWith("v1,", got.Signature);
        var body = JsonDocument.Parse(got.Body).RootElement;
        Assert.Equal("fit.succeeded", body.GetProperty("type").GetString());
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$", body.GetProperty("timestamp").GetString());
        var data = body.GetProperty("data");
        Assert.Equal(fit.Id, data.GetProperty("id").GetString());
        Assert.Equal("succeeded", data.GetProperty("status").GetString());
        Assert.Equal(fit.Params, data.GetProperty("params").EnumerateArray().Select(p => p.GetDouble()));
        Assert.Equal(50, data.GetProperty("history").GetArrayLength());

        var deliveries = await _client.DeliveriesWhen(fit.Id, d => d.State == "delivered");
        Assert.Equal(got.Id, deliveries.WebhookId);
        Assert.Equal("fit.succeeded", deliveries.Type);
        var attempt = Assert.Single(deliveries.Items);
        Assert.Equal(1, attempt.Attempt);
        Assert.Equal(200, attempt.StatusCode);
        Assert.Null(attempt.Error);
        Assert.True(attempt.DurationMs >= 0);
        await Task.Delay(1500);
        Assert.Single(Receiver.Received(path));
    }

    [Fact]
    public async Task AReceiverThatFailsTwiceGetsThreeAttemptsOfOneEvent()
    {
        var path = Receiver.NewHook(new Answer(500), new Answer(503));
        var id = await SubmitAndWait(path);

        var got = await Receiver.WaitForAsync(path, 3);
        Assert.Single(got.Select(g => g.Id).Distinct());
        Assert.Single(got.Select(g => g.Body).Distinct());
        Assert.All(got, g => Assert.True(g.SignatureValid));
        var deliveries = await _client.DeliveriesWhen(id, d => d.State == "delivered");
        Assert.Equal([1, 2, 3], deliveries.Items.Select(a => a.Attempt));
        Assert.Equal([500, 503, 200], deliveries.Items.Select(a => a.StatusCode));
        Assert.Null(deliveries.NextAttemptAt);
    }

    [Fact]
    public async Task GoneStopsTheRetries()
    {
        var path = Receiver.NewHook(new Answer(410));
        var id = await SubmitAndWait(path);

        await Receiver.WaitForAsync(path, 1);
        var deliveries = await _client.DeliveriesWhen(id, d => d.State is not null and not "pending");
        Assert.Equal("gone", deliveries.State);
        await Task.Delay(2000);
        Assert.Single(Receiver.Received(path));
        Assert.Single((await _client.Deliveries(id)).Items);
    }

    [Fact]
    public async Task ATimeoutIsRetried()
    {
        // Far beyond the sender's timeout (WebhookSettings.Loopback); the receiver stops waiting when the sender gives up.
        var path = Receiver.NewHook(new Answer(200, TimeSpan.FromSeconds(30)));
        var id = await SubmitAndWait(path);

        var deliveries = await _client.DeliveriesWhen(id, d => d.State == "delivered");
        Assert.Equal(2, deliveries.Items.Count);
        Assert.Null(deliveries.Items[0].StatusCode);
        Assert.Contains("timed out", deliveries.Items[0].Error);
        Assert.Equal(200, deliveries.Items[1].StatusCode);
        Assert.Single((await Receiver.WaitForAsync(path, 2)).Select(g => g.Id).Distinct());
    }

    [Fact]
    public async Task TheScheduleRunsOutAndTheEventFails()
    {
        var path = Receiver.NewHook(new Answer(500), new Answer(500), new Answer(502), new Answer(500), new Answer(500));
        var id = await SubmitAndWait(path);

        var deliveries = await _client.DeliveriesWhen(id, d => d.State == "failed");
        Assert.Equal(4, deliveries.Items.Count); // the first attempt and the three retries of the test schedule
        Assert.Null(deliveries.NextAttemptAt);
    }

    [Fact]
    public async Task RedeliverySendsTheSameEventAgain()
    {
        var path = Receiver.NewHook();
        var id = await SubmitAndWait(path);
        await _client.DeliveriesWhen(id, d => d.State == "delivered");

        var response = await _client.PostAsync($"/v1/fits/{id}/deliveries/retry", null);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var got = await Receiver.WaitForAsync(path, 2);
        Assert.Equal(got[0].Id, got[1].Id);
        Assert.Equal(got[0].Body, got[1].Body);
        Assert.True(got[1].SignatureValid);
        var deliveries = await _client.DeliveriesWhen(id, d => d.Items.Count == 2 && d.State == "delivered");
        Assert.Equal([1, 2], deliveries.Items.Select(a => a.Attempt));
    }

    [Fact]
    public async Task ACancelledFitSendsFitCancelled()
    {
        var path = Receiver.NewHook();
        var body = new
        {
            x = Enumerable.Range(0, 2000).Select(i => i / 1000.0).ToArray(),
            y = Enumerable.Range(0, 2000).Select(i => Math.Sin(i / 300.0)).ToArray(),
            degree = 5, loss = "mse", learningRate = 1e-4, steps = 10_000_000,
            webhook = new { url = Receiver.Url(path) },
        };
        var fit = await (await _client.PostFit(body)).ReadFit();
        await _client.PostAsync($"/v1/fits/{fit.Id}/cancel", null);

        var got = Assert.Single(await Receiver.WaitForAsync(path, 1));
        Assert.Equal("fit.cancelled", JsonDocument.Parse(got.Body).RootElement.GetProperty("type").GetString());
        Assert.Equal("cancelled", JsonDocument.Parse(got.Body).RootElement.GetProperty("data").GetProperty("status").GetString());
    }

    [Fact]
    public async Task AFitWithoutAWebhookHasNoDeliveriesAndCannotBeRedelivered()
    {
        var fit = await (await _client.PostFit(TestApi.SmallFit(), ("Prefer", "wait=30"))).ReadFit();

        var deliveries = await _client.Deliveries(fit.Id);
        Assert.Null(deliveries.Url);
        Assert.Null(deliveries.State);
        Assert.Empty(deliveries.Items);
        var retry = await _client.PostAsync($"/v1/fits/{fit.Id}/deliveries/retry", null);
        Assert.Equal(HttpStatusCode.Conflict, retry.StatusCode);
        Assert.Contains("no webhook", (await retry.ReadProblem()).GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("GET", "/v1/fits/nope/deliveries")]
    [InlineData("POST", "/v1/fits/nope/deliveries/retry")]
    public async Task AnUnknownFitIs404(string method, string path)
    {
        var response = await _client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(404, (await response.ReadProblem()).GetProperty("status").GetInt32());
    }

    [Theory]
    [InlineData("http://10.0.0.1/hook", "private")]
    [InlineData("http://172.16.5.4/hook", "private")]
    [InlineData("http://192.168.1.1/hook", "private")]
    [InlineData("http://169.254.169.254/latest/meta-data/", "link-local")]
    [InlineData("http://100.64.1.1/hook", "CGNAT")]
    [InlineData("http://127.0.0.2/hook", "loopback")]
    [InlineData("http://[::1]:8080/hook", "loopback")]
    [InlineData("http://[::ffff:10.0.0.1]/hook", "IPv4-mapped private")]
    [InlineData("http://[fd00::1]/hook", "unique local")]
    [InlineData("http://[fe80::1]/hook", "link-local")]
    [InlineData("http://0.0.0.0:80/hook", "unspecified")]
    [InlineData("http://224.0.0.1/hook", "multicast")]
    [InlineData("ftp://127.0.0.1/hook", "absolute http or https")]
    public async Task InternalAddressesAreRefusedAtSubmission(string url, string reason)
    {
        var response = await _client.PostFit(WebhookSettings.FitWithWebhook(url));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var messages = (await response.ReadProblem()).GetProperty("errors").GetProperty("webhook.url");
        Assert.Contains(messages.EnumerateArray(), m => m.GetString()!.Contains(reason));
    }
}

/// <summary>Batches take webhooks too: the same address rules apply to every item.</summary>
public sealed class BatchWebhookTests(WebhookService service) : IClassFixture<WebhookService>
{
    private readonly HttpClient _client = service.Factory.CreateClient();

    [Fact]
    public async Task ABatchItemWithAnInternalWebhookRejectsTheBatch()
    {
        var good = WebhookSettings.FitWithWebhook(service.Receiver.Url(service.Receiver.NewHook()));
        var bad = WebhookSettings.FitWithWebhook("http://169.254.169.254/latest/meta-data/");
        var response = await _client.PostAsJsonAsync("/v1/batches", new { fits = new[] { good, bad } });

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.ReadProblem()).GetProperty("errors");
        Assert.Contains("link-local", errors.GetProperty("fits[1].webhook.url")[0].GetString());
        Assert.False(errors.TryGetProperty("fits[0].webhook.url", out _));
    }

    [Fact]
    public async Task EveryFitOfABatchSendsItsOwnEvent()
    {
        var path = service.Receiver.NewHook();
        var response = await _client.PostAsJsonAsync("/v1/batches",
            new { defaults = new { webhook = new { url = service.Receiver.Url(path) } }, fits = new[] { TestApi.SmallFit(), TestApi.SmallFit(steps: 20) } });

        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        var got = await service.Receiver.WaitForAsync(path, 2);
        Assert.Equal(2, got.Select(g => g.Id).Distinct().Count());
        Assert.All(got, g => Assert.True(g.SignatureValid));
    }

    [Fact]
    public async Task ABatchWithAWebhookSendsOneSignedBatchCompletedEventWhenItsLastFitEnds()
    {
        var path = service.Receiver.NewHook();
        var response = await _client.PostAsJsonAsync("/v1/batches", new
        {
            defaults = new { degree = 1, loss = "mse", learningRate = 0.02, steps = 200 },
            fits = Enumerable.Range(0, 30).Select(i => new { x = new[] { 0.0, 1, 2 }, y = new[] { 1.0, 2 + i, 3 + 2 * i } }).ToArray(),
            webhook = new { url = service.Receiver.Url(path) },
        });
        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        var batchId = (await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("id").GetString();

        var got = Assert.Single(await service.Receiver.WaitForAsync(path, 1));
        Assert.True(got.SignatureValid);
        Assert.Equal($"msg_batch_{batchId}", got.Id);
        var body = System.Text.Json.JsonDocument.Parse(got.Body).RootElement;
        Assert.Equal("batch.completed", body.GetProperty("type").GetString());
        Assert.Equal(batchId, body.GetProperty("data").GetProperty("id").GetString());
        Assert.Equal("completed", body.GetProperty("data").GetProperty("status").GetString());
        Assert.Equal(30, body.GetProperty("data").GetProperty("counts").GetProperty("succeeded").GetInt32());
        await Task.Delay(500);
        Assert.Single(service.Receiver.Received(path));

        // Its deliveries are the batch's, and it can be sent again with the same id.
        var deliveries = await _client.DeliveriesWhen(batchId!, d => d.State == "delivered", of: "batches");
        Assert.Equal($"msg_batch_{batchId}", deliveries.WebhookId);
        Assert.Equal("batch.completed", deliveries.Type);
        Assert.Equal([200], deliveries.Items.Select(a => a.StatusCode ?? 0));
        Assert.Equal(System.Net.HttpStatusCode.Accepted, (await _client.PostAsync($"/v1/batches/{batchId}/deliveries/retry", null)).StatusCode);
        var again = await service.Receiver.WaitForAsync(path, 2);
        Assert.Equal(again[0].Id, again[1].Id);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await _client.GetAsync($"/v1/fits/{batchId}/deliveries")).StatusCode);
    }

    [Fact]
    public async Task ABatchWithoutAWebhookHasNoDeliveriesToSendAgain()
    {
        var response = await _client.PostAsJsonAsync("/v1/batches", new { fits = new[] { TestApi.SmallFit() } });
        var batchId = (await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("id").GetString()!;

        var deliveries = await _client.Deliveries(batchId, "batches");
        Assert.Null(deliveries.Url);
        Assert.Empty(deliveries.Items);
        Assert.Equal(System.Net.HttpStatusCode.Conflict, (await _client.PostAsync($"/v1/batches/{batchId}/deliveries/retry", null)).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await _client.GetAsync("/v1/batches/nosuchbatch/deliveries")).StatusCode);
    }

    [Fact]
    public async Task ABatchWebhookToAnInternalAddressRejectsTheBatch()
    {
        var response = await _client.PostAsJsonAsync("/v1/batches", new
        {
            fits = new[] { TestApi.SmallFit() },
            webhook = new { url = "http://10.0.0.1/hook" },
        });

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.ReadProblem()).GetProperty("errors").TryGetProperty("webhook.url", out _));
    }
}
