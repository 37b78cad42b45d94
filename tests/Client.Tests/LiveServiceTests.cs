using System.Net;
using System.Text;
using System.Text.Json;
using FitService.Client.Webhooks;
using Microsoft.Extensions.DependencyInjection;

namespace FitService.Client.Tests;

/// <summary>The client against the real service over real HTTP (see <see cref="LiveFitService"/>); each test makes its own fits.</summary>
[Collection(LiveFitServiceCollection.Name)]
public sealed class LiveServiceTests(LiveFitService service)
{
    private readonly FitServiceClient _client = service.CreateClient();
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task TheLessonSubmittedAndWaitedForEndsWithItsKnownStartingLoss()
    {
        var queued = await _client.SubmitFitAsync(Lesson.Request(label: _run));
        var fit = await _client.WaitAsync(queued.Id);

        Assert.Equal(FitStatuses.Succeeded, fit.Status);
        Assert.Equal("steps", fit.StopReason);
        Assert.Equal(100, fit.Step);
        Assert.Equal(2.4219, Math.Round(fit.History![0]!.Value, 4));
        Assert.True(fit.Loss < fit.History[0], "the descent lowers the loss");
        Assert.Equal(3, fit.Params!.Length);
        Assert.Equal(new LearningRateValue(0.01), fit.Request.LearningRate);
    }

    [Fact]
    public async Task SubmitWithAWaitReturnsTheEndedFitAndAKeyReplaysIt()
    {
        var key = "key-" + _run;
        var fit = await _client.SubmitFitAsync(Lesson.Request(label: _run), idempotencyKey: key, wait: TimeSpan.FromSeconds(30));
        var replay = await _client.SubmitFitAsync(Lesson.Request(label: _run), idempotencyKey: key);
        Assert.Equal(fit.Id, replay.Id);
    }

    [Fact]
    public async Task TheHistoryIsEnumeratedAcrossPagesInStepOrder()
    {
        var pages = new CountingHandler();
        var client = service.CreateClient(b => b.AddHttpMessageHandler(() => pages));
        var fit = await client.WaitAsync((await client.SubmitFitAsync(Lesson.Request(steps: 250, label: _run, historyEvery: 2))).Id);
        pages.Requests.Clear();

        var entries = new List<HistoryEntry>();
        await foreach (var entry in client.GetHistoryAsync(fit.Id, pageSize: 40))
            entries.Add(entry);

        Assert.Equal(fit.History!.Length, entries.Count);
        Assert.Equal(Enumerable.Range(0, entries.Count).Select(i => i * 2), entries.Select(e => e.Step));
        Assert.Equal(fit.History, entries.Select(e => e.Loss));
        Assert.Equal((entries.Count + 39) / 40, pages.Requests.Count(uri => uri.AbsolutePath.EndsWith("/history")));
    }

    [Fact]
    public async Task ProgressArrivesOverServerSentEventsAndAResumeSkipsWhatWasSeen()
    {
        // Long enough to run for a while on any machine, so the stream has progress to tell before the end
        var fit = await _client.SubmitFitAsync(Lesson.Request(steps: 3_000_000, label: _run, historyEvery: 10_000));
        FitProgressed? first = null;
        await foreach (var e in _client.WatchAsync(fit.Id))
        {
            first = e as FitProgressed;
            if (first is not null) break; // leaving the loop closes the stream
            Assert.Fail("the fit ended before any progress was reported");
        }

        Assert.True(first!.Progress.Step > 0);
        Assert.Equal(first.Progress.Step.ToString(), first.EventId);

        // Resuming after the last step there will be: no progress is told again, only the end
        var events = new List<FitEvent>();
        await foreach (var e in _client.WatchAsync(fit.Id, lastEventId: "3000000"))
            events.Add(e);

        var ended = Assert.IsType<FitEnded>(Assert.Single(events));
        Assert.Equal(FitStatuses.Succeeded, ended.Fit.Status);
        Assert.Equal(3_000_000, ended.Fit.Step);
    }

    [Fact]
    public async Task ABatchIsSubmittedWaitedForAndItsResultsRead()
    {
        var batch = await _client.SubmitBatchAsync(new BatchRequest
        {
            Defaults = Lesson.Request(steps: 50),
            Fits = [new FitRequest { Label = $"{_run}-mae" }, new FitRequest { Label = $"{_run}-mse", Loss = "mse" }, new FitRequest { Label = $"{_run}-cubic", Degree = 3, InitialParams = [0, 1.1, 1.1, 1.1] }],
            Label = _run,
        });
        var completed = await _client.WaitBatchAsync(batch.Id);

        Assert.Equal(FitServiceClient.BatchCompleted, completed.Status);
        Assert.Equal(3, completed.Counts.Succeeded);
        var results = new List<BatchResult>();
        await foreach (var result in _client.GetBatchResultsAsync(batch.Id))
            results.Add(result);
        Assert.Equal([0, 1, 2], results.Select(r => r.Index));
        Assert.Equal(completed.FitIds, results.Select(r => r.Id));
        Assert.Equal(4, results[2].Params!.Length);

        await using var csv = await _client.GetBatchResultsStreamAsync(batch.Id, BatchResultsFormat.Csv);
        var lines = (await new StreamReader(csv).ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("label,status,stopReason,loss", lines[0]);
        Assert.Equal(4, lines.Length);
    }

    [Fact]
    public async Task AnInvalidRequestThrowsTheProblemDetailsWithEachFieldError()
    {
        var request = Lesson.Request();
        var invalid = new FitRequest { X = request.X, Y = request.Y, Degree = 99, Loss = "l1", LearningRate = new LearningRateValue(-1), Steps = 10 };

        var problem = await Assert.ThrowsAsync<FitServiceProblemException>(() => _client.SubmitFitAsync(invalid));

        Assert.Equal(HttpStatusCode.BadRequest, problem.StatusCode);
        Assert.Equal(400, problem.Status);
        Assert.False(string.IsNullOrEmpty(problem.Title));
        Assert.Contains("degree", problem.Errors.Keys);
        Assert.Contains("loss", problem.Errors.Keys);
        Assert.Contains("learningRate", problem.Errors.Keys);
        Assert.All(problem.Errors.Values, messages => Assert.NotEmpty(messages));
    }

    [Fact]
    public async Task AMissingFitIsANotFoundProblem()
    {
        var problem = await Assert.ThrowsAsync<FitServiceProblemException>(() => _client.GetFitAsync("no-such-fit-" + _run));
        Assert.Equal(HttpStatusCode.NotFound, problem.StatusCode);
        Assert.Empty(problem.Errors);
    }

    [Fact]
    public async Task PlotsArriveAsSvgStreams()
    {
        var fit = await _client.SubmitFitAsync(Lesson.Request(label: _run), wait: TimeSpan.FromSeconds(30));
        fit = await _client.WaitAsync(fit.Id);
        await using var plot = await _client.GetFitPlotAsync(fit.Id);
        await using var loss = await _client.GetLossPlotAsync(fit.Id, logScale: true);
        Assert.Contains("<svg", await new StreamReader(plot).ReadToEndAsync());
        Assert.Contains("<svg", await new StreamReader(loss).ReadToEndAsync());
    }

    [Fact]
    public async Task EvaluateAndTheLearningRateFinderAnswerTypedResults()
    {
        var loss = await _client.EvaluateAsync(new EvaluateRequest { X = Lesson.X, Y = Lesson.Y, Degree = 2, Loss = "mae", Params = [1.1, 1.1, 1.1] });
        Assert.Equal(2.4219, Math.Round(loss.Loss!.Value, 4));

        var run = await _client.SubmitLearningRateFinderAsync(new LearningRateFinderRequest { X = Lesson.X, Y = Lesson.Y, Degree = 2, Loss = "mae", Label = _run });
        run = await _client.WaitLearningRateFinderAsync(run.Id);
        Assert.Equal(FitStatuses.Succeeded, run.Status);
        Assert.NotNull(run.Suggested);
        Assert.NotEmpty(run.Curve!);
    }

    [Fact]
    public async Task TheVerifierAcceptsTheServicesRealSignatureAndRejectsATamperedBodyOrAnOldTimestamp()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var fit = await _client.SubmitFitAsync(Lesson.Request(label: _run, webhook: receiver.Url));
        var webhook = await receiver.NextAsync();

        new WebhookVerifier(LiveFitService.WebhookSecret).Verify(webhook.Body, webhook.Header);
        var payload = JsonSerializer.Deserialize<WebhookPayload>(webhook.Body, FitServiceJson.Options)!;
        Assert.Equal("fit.succeeded", payload.Type);
        Assert.Equal(fit.Id, payload.Data.Id);

        var tampered = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(webhook.Body).Replace("fit.succeeded", "fit.failed"));
        Assert.Throws<WebhookVerificationException>(() => new WebhookVerifier(LiveFitService.WebhookSecret).Verify(tampered, webhook.Header));

        var sent = DateTimeOffset.FromUnixTimeSeconds(long.Parse(webhook.Timestamp!));
        var sixMinutesLater = new WebhookVerifier(LiveFitService.WebhookSecret, clock: new FixedClock(sent.AddMinutes(6)));
        var error = Assert.Throws<WebhookVerificationException>(() => sixMinutesLater.Verify(webhook.Body, webhook.Header));
        Assert.Contains("webhook-timestamp", error.Message);
        Assert.True(new WebhookVerifier(LiveFitService.WebhookSecret, clock: new FixedClock(sent.AddMinutes(4))).IsValid(webhook.Body, webhook.Header));

        Assert.False(new WebhookVerifier("whsec_" + Convert.ToBase64String(new byte[32])).IsValid(webhook.Body, webhook.Header), "another secret");
    }

    [Fact]
    public async Task DeliveriesListTheWebhookAttempts()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var fit = await _client.SubmitFitAsync(Lesson.Request(label: _run, webhook: receiver.Url));
        var webhook = await receiver.NextAsync();
        var deliveries = await _client.GetFitDeliveriesAsync(fit.Id);
        Assert.Equal(webhook.Id, deliveries.WebhookId);
        Assert.Equal(receiver.Url, deliveries.Url);
    }

    /// <summary>Counts the requests the typed client sends (added to it as any application would add a handler).</summary>
    private sealed class CountingHandler : DelegatingHandler
    {
        public List<Uri> Requests { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            lock (Requests) Requests.Add(request.RequestUri!);
            return base.SendAsync(request, cancellationToken);
        }
    }
}

/// <summary>A clock stopped at one instant.</summary>
internal sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
