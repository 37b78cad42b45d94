using System.Net;
using System.Text;
using FitService.Cli.Client;

namespace FitService.Cli.Tests;

/// <summary>What the client puts on the wire and how it reads answers, checked against recorded requests and canned answers
/// (one per test). Talking to the real service is the job of <see cref="EndToEnd.FitctlAgainstLiveServiceTests"/>.</summary>
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

    private const string QueuedFit = """{"id":"f 1","status":"queued","stopReason":null,"step":0,"steps":10,"params":null,"loss":null,"history":[],"historyEvery":1}""";

    private static (FitServiceClient Client, RecordingHandler Handler) Answering(HttpStatusCode status, string body, string mediaType = "application/json", string? apiKey = null)
    {
        var handler = new RecordingHandler(status, body, mediaType);
        return (FitServiceClient.Create(new Uri("http://fits.test:5080"), apiKey, handler), handler);
    }

    [Fact]
    public async Task SubmitPostsCamelCaseJsonWithoutUnsetFields()
    {
        var (client, handler) = Answering(HttpStatusCode.Accepted, QueuedFit, apiKey: "secret");
        var fit = await client.SubmitFitAsync(new FitRequest { X = [1, 2], Y = [3, 4], Degree = 1, Loss = "mse", LearningRate = 0.1, Steps = 10 }, idempotencyKey: "k-1");

        Assert.Equal("f 1", fit.Id);
        Assert.Equal(HttpMethod.Post, handler.Request!.Method);
        Assert.Equal("http://fits.test:5080/v1/fits", handler.Request.RequestUri!.AbsoluteUri);
        Assert.Equal("""{"x":[1,2],"y":[3,4],"degree":1,"loss":"mse","learningRate":0.1,"steps":10}""", handler.RequestBody);
        Assert.Equal("Bearer secret", handler.Request.Headers.Authorization!.ToString());
        Assert.Equal(["k-1"], handler.Request.Headers.GetValues("Idempotency-Key"));
    }

    [Fact]
    public async Task GetAsksToWaitWithPreferAndEscapesTheId()
    {
        var (client, handler) = Answering(HttpStatusCode.OK, QueuedFit);
        await client.GetFitAsync("f 1", waitSeconds: 30);
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
        var error = await Assert.ThrowsAsync<FitServiceException>(() => client.SubmitFitAsync(new FitRequest()));
        Assert.Equal(HttpStatusCode.BadRequest, error.StatusCode);
        Assert.Equal("One or more validation errors occurred.", error.Problem.Title);
        Assert.Equal(["must be > 0"], error.Problem.Errors!["learningRate"]);
    }

    [Fact]
    public async Task AnErrorWithoutProblemDetailsStillReadsWell()
    {
        var (client, _) = Answering(HttpStatusCode.BadGateway, "<html>upstream down</html>", "text/html");
        var error = await Assert.ThrowsAsync<FitServiceException>(() => client.GetFitAsync("f1"));
        Assert.Equal("Bad Gateway", error.Problem.Title);
        Assert.Equal(502, error.Problem.Status);
        Assert.Equal("<html>upstream down</html>", error.Problem.Detail);
    }

    [Fact]
    public async Task AServiceWithoutAnEventStreamIsReportedSoCallersCanPoll()
    {
        var (client, _) = Answering(HttpStatusCode.NotFound, """{"title":"Not Found","status":404}""", "application/problem+json");
        await Assert.ThrowsAsync<EventsUnavailableException>(async () =>
        {
            await foreach (var _ in client.WatchFitAsync("f1")) { }
        });
    }

    [Fact]
    public async Task TheEventStreamYieldsProgressThenTheEndedFit()
    {
        var stream = "event: progress\ndata: {\"step\":5,\"loss\":1.5,\"params\":[1,2]}\n\nevent: end\ndata: {\"id\":\"f1\",\"status\":\"succeeded\",\"step\":10,\"steps\":10}\n\n";
        var (client, _) = Answering(HttpStatusCode.OK, stream, "text/event-stream");
        var updates = new List<FitUpdate>();
        await foreach (var update in client.WatchFitAsync("f1"))
            updates.Add(update);
        Assert.Equal(5, updates[0].Progress!.Step);
        Assert.Equal(1.5, updates[0].Progress!.Loss);
        Assert.Equal("succeeded", updates[1].Ended!.Status);
    }

    [Fact]
    public async Task BatchResultsAreReadAsJsonLines()
    {
        var (client, handler) = Answering(HttpStatusCode.OK,
            "{\"label\":\"a.csv\",\"status\":\"succeeded\",\"stopReason\":\"steps\",\"loss\":0.5,\"params\":[1,2]}\n{\"label\":\"b.csv\",\"status\":\"failed\",\"stopReason\":\"diverged\",\"loss\":null,\"params\":null}\n",
            "application/x-ndjson");
        var results = await client.GetBatchResultsAsync("b1");
        Assert.Equal(["a.csv", "b.csv"], results.Select(r => r.Label));
        Assert.Equal([1, 2], results[0].Params!);
        Assert.Equal("application/x-ndjson", handler.Request!.Headers.Accept.Single().MediaType);
    }
}
