using System.Net;
using System.Text;
using FitService.Client;

namespace FitService.Client.Tests;

/// <summary>What the client puts on the wire and how it reads answers, checked against recorded requests and canned answers
/// (one per test). Talking to the real service is the job of <see cref="LiveServiceTests"/>.</summary>
public class FitServiceClientTests
{
    private sealed class RecordingHandler(HttpStatusCode status, string body, string mediaType) : HttpMessageHandler
    {
        public HttpRequestMessage? Request { get; private set; }
        public string? RequestBody { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Request = request;
            RequestBody = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
            return new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, mediaType) };
        }
    }

    private const string Spec = """{"degree":1,"solver":"descent","loss":"mse","learningRate":0.1,"steps":10,"points":2,"historyEvery":1}""";
    private const string QueuedFit = """{"id":"f 1","status":"queued","stopReason":null,"step":0,"steps":10,"params":null,"loss":null,"history":[],"historyEvery":1,"createdAt":"2026-11-28T09:15:02.123Z","request":""" + Spec + "}";
    private const string EndedFit = """{"id":"f1","status":"succeeded","stopReason":"steps","step":10,"steps":10,"params":[1,2],"loss":0.5,"history":[2,1],"historyEvery":1,"createdAt":"2026-11-28T09:15:02.123Z","request":""" + Spec + "}";

    private static (FitServiceClient Client, RecordingHandler Handler) Answering(HttpStatusCode status, string body, string mediaType = "application/json", string? apiKey = null)
    {
        var handler = new RecordingHandler(status, body, mediaType);
        var http = new HttpClient(handler);
        return (new FitServiceClient(http, new FitServiceClientOptions { BaseAddress = new Uri("http://fits.test:5080"), ApiKey = apiKey }), handler);
    }

    [Fact]
    public async Task SubmitPostsCamelCaseJsonWithoutUnsetFields()
    {
        var (client, handler) = Answering(HttpStatusCode.Accepted, QueuedFit, apiKey: "secret");
        var fit = await client.SubmitFitAsync(new FitRequest { X = [1, 2], Y = [3, 4], Degree = 1, Loss = "mse", LearningRate = new LearningRateValue(0.1), Steps = 10 }, idempotencyKey: "k-1");

        Assert.Equal("f 1", fit.Id);
        Assert.Equal(HttpMethod.Post, handler.Request!.Method);
        Assert.Equal("http://fits.test:5080/v1/fits", handler.Request.RequestUri!.AbsoluteUri);
        Assert.Equal("""{"x":[1,2],"y":[3,4],"degree":1,"loss":"mse","learningRate":0.1,"steps":10}""", handler.RequestBody);
        Assert.Equal("Bearer secret", handler.Request.Headers.Authorization!.ToString());
        Assert.Equal(["k-1"], handler.Request.Headers.GetValues("Idempotency-Key"));
    }

    [Fact]
    public async Task ANetworkFitSendsRowsAndItsModelAndReadsParamsByLayer()
    {
        const string NetworkFit = """{"id":"n1","status":"succeeded","stopReason":"steps","step":10,"steps":10,"params":[1,2,3],"paramsByLayer":[{"name":"0.weight","shape":[1,2],"values":[1,2]},{"name":"0.bias","shape":[1],"values":[3]}],"standardization":{"means":[1,2],"scales":[0.5,1]},"loss":0.5,"history":[2,1],"historyEvery":1,"createdAt":"2026-11-28T09:15:02.123Z","request":{"model":{"type":"linear"},"solver":"descent","loss":"bce","learningRate":0.1,"steps":10,"points":2,"historyEvery":1,"features":2,"standardize":true,"seed":3}}""";
        var (client, handler) = Answering(HttpStatusCode.Created, NetworkFit);
        double[][] rows = [[1, 2], [3, 4]];
        var fit = await client.SubmitFitAsync(new FitRequest
        {
            X = rows, Y = [0, 1], Model = new ModelDto { Type = "linear" }, Loss = "bce", Standardize = true, Seed = 3, BatchSize = 1, Shuffle = true, Epochs = 5,
        });

        Assert.Equal("""{"x":[[1,2],[3,4]],"y":[0,1],"model":{"type":"linear"},"loss":"bce","standardize":true,"seed":3,"batchSize":1,"shuffle":true,"epochs":5}""", handler.RequestBody);
        Assert.Equal(["0.weight", "0.bias"], fit.ParamsByLayer!.Select(l => l.Name));
        Assert.Equal([1, 2], fit.ParamsByLayer![0].Shape);
        Assert.Equal([0.5, 1], fit.Standardization!.Scales);
        Assert.Equal(2, fit.Request.Features);
    }

    [Fact]
    public async Task PredictionsOnRowsReadTheirProbabilities()
    {
        var (client, handler) = Answering(HttpStatusCode.OK, """{"y":[0,2],"probabilities":[0.5,0.8807970779778823]}""");
        var prediction = await client.PredictAsync("n1", new XValues([1, 2, 3, 4], 2));

        Assert.Equal("""{"x":[[1,2],[3,4]]}""", handler.RequestBody);
        Assert.Equal([0.5, 0.8807970779778823], prediction.Probabilities!);
    }

    [Fact]
    public async Task AnAutomaticLearningRateIsSentAsTheStringAuto()
    {
        var (client, handler) = Answering(HttpStatusCode.Accepted, QueuedFit);
        await client.SubmitFitAsync(new FitRequest { Degree = 1, LearningRate = LearningRateValue.Auto });
        Assert.Equal("""{"degree":1,"learningRate":"auto"}""", handler.RequestBody);
    }

    [Fact]
    public async Task GetAsksToWaitWithPreferAndEscapesTheId()
    {
        var (client, handler) = Answering(HttpStatusCode.OK, QueuedFit);
        await client.GetFitAsync("f 1", wait: TimeSpan.FromSeconds(30));
        Assert.Equal("/v1/fits/f%201", handler.Request!.RequestUri!.AbsolutePath);
        Assert.Equal(["wait=30"], handler.Request.Headers.GetValues("Prefer"));
        Assert.Null(handler.Request.Headers.Authorization);
    }

    [Fact]
    public async Task ListAndHistoryPassOnlyTheGivenQueryParameters()
    {
        var (client, handler) = Answering(HttpStatusCode.OK, """{"items":[],"next":null}""");
        await client.ListFitsAsync(status: "running", limit: 5);
        Assert.Equal("?status=running&limit=5", handler.Request!.RequestUri!.Query);

        (client, handler) = Answering(HttpStatusCode.OK, "step,loss\n0,1\n", "text/csv");
        Assert.Equal("step,loss\n0,1\n", await client.GetHistoryCsvAsync("f1", offset: 10));
        Assert.Equal("/v1/fits/f1/history?offset=10", handler.Request!.RequestUri!.PathAndQuery);
        Assert.Equal("text/csv", handler.Request.Headers.Accept.Single().MediaType);
    }

    [Fact]
    public async Task AProblemAnswerBecomesAnExceptionCarryingIt()
    {
        var (client, _) = Answering(HttpStatusCode.BadRequest,
            """{"type":"about:blank","title":"One or more validation errors occurred.","status":400,"errors":{"learningRate":["must be > 0"]}}""",
            "application/problem+json");
        var error = await Assert.ThrowsAsync<FitServiceProblemException>(() => client.SubmitFitAsync(new FitRequest()));
        Assert.Equal(HttpStatusCode.BadRequest, error.StatusCode);
        Assert.Equal(400, error.Status);
        Assert.Equal("about:blank", error.Type);
        Assert.Equal("One or more validation errors occurred.", error.Title);
        Assert.Equal(["must be > 0"], error.Errors["learningRate"]);
        Assert.Contains("learningRate: must be > 0", error.Message);
    }

    [Fact]
    public async Task AnErrorWithoutProblemDetailsStillReadsWell()
    {
        var (client, _) = Answering(HttpStatusCode.BadGateway, "<html>upstream down</html>", "text/html");
        var error = await Assert.ThrowsAsync<FitServiceProblemException>(() => client.GetFitAsync("f1"));
        Assert.Equal("Bad Gateway", error.Title);
        Assert.Equal(502, error.Status);
        Assert.Equal("<html>upstream down</html>", error.Detail);
        Assert.Empty(error.Errors);
    }

    [Fact]
    public async Task AnAnswerThatIsNotAnEventStreamIsReportedSoCallersCanPoll()
    {
        var (client, _) = Answering(HttpStatusCode.OK, "<html>a proxy's page</html>", "text/html");
        await Assert.ThrowsAsync<NotSupportedException>(async () =>
        {
            await foreach (var _ in client.WatchAsync("f1")) { }
        });
    }

    [Fact]
    public async Task TheEventStreamYieldsProgressThenTheEndedFit()
    {
        var stream = "id: 5\nevent: progress\ndata: {\"step\":5,\"loss\":1.5,\"params\":[1,2]}\n\n: keep-alive\n\nid: 10\nevent: end\ndata: " + EndedFit + "\n\n";
        var (client, _) = Answering(HttpStatusCode.OK, stream, "text/event-stream");
        var updates = new List<FitEvent>();
        await foreach (var update in client.WatchAsync("f1"))
            updates.Add(update);
        var progress = Assert.IsType<FitProgressed>(updates[0]);
        Assert.Equal("5", progress.EventId);
        Assert.Equal(5, progress.Progress.Step);
        Assert.Equal(1.5, progress.Progress.Loss);
        Assert.Equal("succeeded", Assert.IsType<FitEnded>(updates[1]).Fit.Status);
        Assert.Equal(2, updates.Count);
    }

    /// <summary>Answers each request for the event stream with the next of <paramref name="answers"/> (status, media type, body).</summary>
    private sealed class ScriptedStreamHandler(params (HttpStatusCode Status, string MediaType, string Body)[] answers) : HttpMessageHandler
    {
        public List<string?> LastEventIds { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            LastEventIds.Add(request.Headers.TryGetValues("Last-Event-ID", out var values) ? values.Single() : null);
            var (status, mediaType, body) = answers[LastEventIds.Count - 1];
            return Task.FromResult(new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, mediaType) });
        }
    }

    private const string CutAfterStep5 = "retry: 0\nid: 5\nevent: progress\ndata: {\"step\":5,\"loss\":1.5,\"params\":[1,2]}\n\n";

    private static async Task<List<FitEvent>> WatchAll(ScriptedStreamHandler handler, string? lastEventId)
    {
        var client = new FitServiceClient(new HttpClient(handler), new FitServiceClientOptions { BaseAddress = new Uri("http://fits.test/") });
        var events = new List<FitEvent>();
        await foreach (var e in client.WatchAsync("f1", lastEventId))
            events.Add(e);
        return events;
    }

    [Fact]
    public async Task AStreamThatBreaksIsResumedAfterTheLastEventSeen()
    {
        var handler = new ScriptedStreamHandler(
            (HttpStatusCode.OK, "text/event-stream", CutAfterStep5),
            (HttpStatusCode.OK, "text/event-stream", "id: 10\nevent: end\ndata: " + EndedFit + "\n\n"));
        var events = await WatchAll(handler, lastEventId: "2");

        Assert.Equal(["2", "5"], handler.LastEventIds);
        Assert.IsType<FitProgressed>(events[0]);
        Assert.IsType<FitEnded>(events[1]);
    }

    [Fact]
    public async Task AServiceRestartingWhileAStreamResumesIsAskedAgain()
    {
        var handler = new ScriptedStreamHandler(
            (HttpStatusCode.OK, "text/event-stream", CutAfterStep5),
            (HttpStatusCode.ServiceUnavailable, "application/problem+json", """{"title":"Storage unavailable","status":503}"""),
            (HttpStatusCode.OK, "text/event-stream", "id: 10\nevent: end\ndata: " + EndedFit + "\n\n"));
        var events = await WatchAll(handler, lastEventId: null);

        Assert.Equal([null, "5", "5"], handler.LastEventIds);
        Assert.IsType<FitEnded>(events[^1]);
    }

    [Fact]
    public async Task AFitThatDoesNotExistIsNotRetried()
    {
        var handler = new ScriptedStreamHandler((HttpStatusCode.NotFound, "application/problem+json", """{"title":"Not Found","status":404}"""));
        var problem = await Assert.ThrowsAsync<FitServiceProblemException>(() => WatchAll(handler, lastEventId: null));
        Assert.Equal(404, problem.Status);
        Assert.Single(handler.LastEventIds);
    }

    [Fact]
    public async Task BatchResultsAreReadAsJsonLines()
    {
        var (client, handler) = Answering(HttpStatusCode.OK,
            "{\"index\":0,\"id\":\"f1\",\"label\":\"a.csv\",\"status\":\"succeeded\",\"stopReason\":\"steps\",\"loss\":0.5,\"params\":[1,2],\"error\":null}\n" +
            "{\"index\":1,\"id\":\"f2\",\"label\":\"b.csv\",\"status\":\"failed\",\"stopReason\":\"diverged\",\"loss\":null,\"params\":null,\"error\":\"diverged\"}\n",
            "application/x-ndjson");
        var results = new List<BatchResult>();
        await foreach (var result in client.GetBatchResultsAsync("b1"))
            results.Add(result);
        Assert.Equal(["a.csv", "b.csv"], results.Select(r => r.Label));
        Assert.Equal([1, 2], results[0].Params!);
        Assert.Equal("application/x-ndjson", handler.Request!.Headers.Accept.Single().MediaType);
    }
}
