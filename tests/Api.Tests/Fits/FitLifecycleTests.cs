using System.Net;
using System.Text.Json;
using FitService.Api.Fits;
using FitService.Api.Tests.Infrastructure;
using FitService.Engine;

namespace FitService.Api.Tests.Fits;

/// <summary>The contract of API.md, end to end through Hangfire workers and a real SQLite file.</summary>
public sealed class FitLifecycleTests(FitLifecycleTests.Service factory) : IClassFixture<FitLifecycleTests.Service>
{
    public sealed class Service() : FitServiceFactory(("Workers:Count", "2"));

    private readonly HttpClient _client = factory.CreateClient();

    private static object Lesson(int steps = 10, object? optimizer = null, string? label = "lesson") => new
    {
        x = LessonData.X,
        y = LessonData.Y,
        degree = 2,
        loss = "mae",
        learningRate = 0.01,
        steps,
        initialParams = new[] { 1.1, 1.1, 1.1 },
        optimizer = optimizer ?? new { type = "sgd", momentum = 0.0, dampening = 0.0, nesterov = false },
        label,
    };

    /// <summary>A fit that runs for minutes unless cancelled.</summary>
    private static object Long(string label = "long") => new
    {
        x = Enumerable.Range(0, 2000).Select(i => i / 1000.0).ToArray(),
        y = Enumerable.Range(0, 2000).Select(i => Math.Sin(i / 300.0)).ToArray(),
        degree = 5,
        loss = "mse",
        learningRate = 1e-4,
        steps = 10_000_000,
        label,
    };

    [Fact]
    public async Task TheLessonFitsEndToEnd()
    {
        var response = await _client.PostFit(Lesson(steps: 100), ("Prefer", "wait=30"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("wait=30", response.Headers.GetValues("Preference-Applied").Single());
        var fit = await response.ReadFit();
        Assert.Equal($"/v1/fits/{fit.Id}", response.Headers.Location!.OriginalString);
        Assert.Equal("succeeded", fit.Status);
        Assert.Equal("steps", fit.StopReason);
        Assert.Equal(100, fit.Step);
        Assert.Equal(100, fit.History!.Length);
        Assert.Equal(2.4219, fit.History[0]!.Value, 4);
        Assert.True(fit.Loss < fit.History[^1], "the loss after the last update is below the one before it");
        Assert.Equal(3, fit.Params!.Length);
        Assert.Equal(20, fit.Request.Points);
        Assert.Equal("mae", fit.Request.Loss);
        Assert.Equal("lesson", fit.Label);
        Assert.NotNull(fit.StartedAt);
        Assert.True(fit.FinishedAt >= fit.StartedAt && fit.StartedAt >= fit.CreatedAt);
    }

    [Fact]
    public async Task TheServiceMatchesTheEngineBitForBit()
    {
        var fit = await (await _client.PostFit(Lesson(steps: 200), ("Prefer", "wait=30"))).ReadFit();
        var expected = Fitter.Run(new FitProblem(LessonData.X, LessonData.Y, 2, new LossSpec(LossKind.Mae), 0.01, 200,
            [1.1, 1.1, 1.1], new SgdSpec()));

        Assert.Equal(expected.Params, fit.Params!);
        Assert.Equal(expected.Loss, fit.Loss);
        Assert.Equal(expected.History, fit.History!.Select(h => h!.Value));
    }

    [Fact]
    public async Task SubmitAnswers202WithLocationAndRetryAfter()
    {
        var response = await _client.PostFit(Lesson());

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var fit = await response.ReadFit();
        Assert.Equal($"/v1/fits/{fit.Id}", response.Headers.Location!.OriginalString);
        Assert.True(response.Headers.RetryAfter!.Delta >= TimeSpan.FromSeconds(1));
        Assert.False(response.Headers.Contains("Preference-Applied"));
        Assert.Contains(fit.Status, new[] { "queued", "running", "succeeded" });
        Assert.Equal("succeeded", (await _client.WaitForEnd(fit.Id)).Status);
    }

    [Fact]
    public async Task TimesAreUtcWithMilliseconds()
    {
        var response = await _client.PostFit(Lesson(), ("Prefer", "wait=30"));
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();

        foreach (var name in new[] { "createdAt", "startedAt", "finishedAt" })
        {
            Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$", json.GetProperty(name).GetString());
        }
    }

    [Fact]
    public async Task PreferWaitThatRunsOutAnswers202()
    {
        var response = await _client.PostFit(Long(), ("Prefer", "wait=1"));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var fit = await response.ReadFit();
        Assert.False(response.Headers.Contains("Preference-Applied"));
        await _client.DeleteAsync($"/v1/fits/{fit.Id}");
    }

    [Fact]
    public async Task GetWithPreferWaitAnswersWhenTheFitEnds()
    {
        var fit = await (await _client.PostFit(Lesson(steps: 2000))).ReadFit();
        var ended = await _client.WaitForEnd(fit.Id, seconds: 30);

        Assert.Equal("succeeded", ended.Status);
        // Inline, the first Limits:MaxInlineHistory entries; the resource counts the rest.
        Assert.Equal(1000, ended.History!.Length);
        Assert.Equal(2000, ended.HistoryTotal);
        Assert.True(ended.HistoryTruncated);
    }

    [Fact]
    public async Task ARunningFitShowsProgressAndCancelKeepsIt()
    {
        var fit = await (await _client.PostFit(Long())).ReadFit();
        var running = await PollUntil(fit.Id, f => f.Step > 0);
        Assert.Equal("running", running.Status);
        Assert.NotNull(running.Params);
        Assert.NotEmpty(running.History!);

        var cancel = await _client.PostAsync($"/v1/fits/{fit.Id}/cancel", null);
        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        var ended = await _client.WaitForEnd(fit.Id);

        Assert.Equal("cancelled", ended.Status);
        Assert.Equal("cancelled", ended.StopReason);
        Assert.InRange(ended.Step, running.Step, 9_999_999);
        Assert.Equal(ended.Step, ended.HistoryTotal);
        Assert.NotNull(ended.FinishedAt);
    }

    [Fact]
    public async Task CancellingAnEndedFitIs409()
    {
        var fit = await (await _client.PostFit(Lesson(), ("Prefer", "wait=30"))).ReadFit();
        var response = await _client.PostAsync($"/v1/fits/{fit.Id}/cancel", null);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal(409, (await response.ReadProblem()).GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task DeleteRemovesAFitEvenWhileItRuns()
    {
        var fit = await (await _client.PostFit(Long())).ReadFit();
        await PollUntil(fit.Id, f => f.Status == "running");

        Assert.Equal(HttpStatusCode.NoContent, (await _client.DeleteAsync($"/v1/fits/{fit.Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync($"/v1/fits/{fit.Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.DeleteAsync($"/v1/fits/{fit.Id}")).StatusCode);
    }

    [Theory]
    [InlineData("GET", "/v1/fits/nope")]
    [InlineData("GET", "/v1/fits/nope/history")]
    [InlineData("POST", "/v1/fits/nope/cancel")]
    [InlineData("DELETE", "/v1/fits/nope")]
    public async Task AnUnknownIdIs404ProblemDetails(string method, string path)
    {
        var response = await _client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var problem = await response.ReadProblem();
        Assert.Equal(404, problem.GetProperty("status").GetInt32());
        Assert.Equal("There is no fit with id 'nope'.", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task HistoryPagesAndCsv()
    {
        var fit = await (await _client.PostFit(Lesson(steps: 50), ("Prefer", "wait=30"))).ReadFit();

        var page = await _client.GetFromJsonAsync<HistoryPage>($"/v1/fits/{fit.Id}/history?offset=10&limit=5", TestApi.Json);
        Assert.Equal(50, page!.Total);
        Assert.Equal([10, 11, 12, 13, 14], page.Items.Select(e => e.Step));
        Assert.Equal(fit.History!.Skip(10).Take(5), page.Items.Select(e => e.Loss));

        var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/fits/{fit.Id}/history?limit=3");
        request.Headers.Accept.ParseAdd("text/csv");
        var csv = await _client.SendAsync(request);
        Assert.Equal("text/csv", csv.Content.Headers.ContentType!.MediaType);
        var lines = (await csv.Content.ReadAsStringAsync()).TrimEnd().Split('\n');
        Assert.Equal("step,loss", lines[0]);
        Assert.Equal($"0,{fit.History![0]!.Value.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}", lines[1]);
        Assert.Equal(4, lines.Length);
    }

    [Fact]
    public async Task HistoryEveryRecordsEveryKthStep()
    {
        object Body(int every) => new { x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mse", learningRate = 0.001, steps = 100, historyEvery = every };
        var fit = await (await _client.PostFit(Body(10), ("Prefer", "wait=30"))).ReadFit();
        var full = await (await _client.PostFit(Body(1), ("Prefer", "wait=30"))).ReadFit();

        Assert.Equal(10, fit.History!.Length);
        Assert.Equal(10, fit.HistoryEvery);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => full.History![i * 10]), fit.History);
        var page = await _client.GetFromJsonAsync<HistoryPage>($"/v1/fits/{fit.Id}/history?offset=2&limit=2", TestApi.Json);
        Assert.Equal([20, 30], page!.Items.Select(e => e.Step));
    }

    [Fact]
    public async Task ListIsNewestFirstWithFiltersAndACursor()
    {
        var label = "list-" + Guid.NewGuid().ToString("N");
        var ids = new List<string>();
        for (var i = 0; i < 5; i++) ids.Add((await (await _client.PostFit(Lesson(label: label), ("Prefer", "wait=30"))).ReadFit()).Id);
        ids.Reverse();

        var first = await _client.GetFromJsonAsync<FitList>($"/v1/fits?label={label}&limit=3", TestApi.Json);
        Assert.Equal(ids.Take(3), first!.Items.Select(f => f.Id));
        Assert.All(first.Items, f => Assert.Null(f.History));
        Assert.NotNull(first.Next);
        var second = await _client.GetFromJsonAsync<FitList>($"/v1/fits?label={label}&limit=3&cursor={first.Next}", TestApi.Json);
        Assert.Equal(ids.Skip(3), second!.Items.Select(f => f.Id));
        Assert.Null(second.Next);

        var succeeded = await _client.GetFromJsonAsync<FitList>($"/v1/fits?label={label}&status=succeeded", TestApi.Json);
        Assert.Equal(5, succeeded!.Items.Count);
        var queued = await _client.GetFromJsonAsync<FitList>($"/v1/fits?label={label}&status=queued", TestApi.Json);
        Assert.Empty(queued!.Items);
    }

    [Theory]
    [InlineData("status=done", "status")]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=501", "limit")]
    [InlineData("cursor=garbage!", "cursor")]
    public async Task BadListParametersAre400(string query, string field)
    {
        var response = await _client.GetAsync($"/v1/fits?{query}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.ReadProblem()).GetProperty("errors").TryGetProperty(field, out _));
    }

    [Fact]
    public async Task TheSameIdempotencyKeyGivesTheSameFitAndADifferentBodyConflicts()
    {
        var key = Guid.NewGuid().ToString();
        var label = "idem-" + key;
        var first = await _client.PostFit(Lesson(label: label), ("Idempotency-Key", key));
        var again = await _client.PostFit(Lesson(label: label), ("Idempotency-Key", key));
        var different = await _client.PostFit(Lesson(steps: 11, label: label), ("Idempotency-Key", key));

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
        Assert.Equal((await first.ReadFit()).Id, (await again.ReadFit()).Id);
        Assert.Equal(HttpStatusCode.Conflict, different.StatusCode);
        Assert.Contains(key, (await different.ReadProblem()).GetProperty("detail").GetString());
        var list = await _client.GetFromJsonAsync<FitList>($"/v1/fits?label={label}", TestApi.Json);
        Assert.Single(list!.Items);
    }

    [Fact]
    public async Task TheSameRequestGivesBitIdenticalResults()
    {
        var optimizer = new { type = "adam", beta1 = 0.8, beta2 = 0.99, epsilon = 1e-6 };
        var a = await (await _client.PostFit(Lesson(steps: 300, optimizer: optimizer), ("Prefer", "wait=30"))).ReadFit();
        var b = await (await _client.PostFit(Lesson(steps: 300, optimizer: optimizer), ("Prefer", "wait=30"))).ReadFit();

        Assert.NotEqual(a.Id, b.Id);
        Assert.Equal(a.Params, b.Params);
        Assert.Equal(a.Loss, b.Loss);
        Assert.Equal(a.History, b.History);
    }

    [Fact]
    public async Task ALearningRateTooLargeFailsAsDivergedWithAdvice()
    {
        var body = new { x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mse", learningRate = 10.0, steps = 1000 };
        var fit = await (await _client.PostFit(body, ("Prefer", "wait=30"))).ReadFit();

        Assert.Equal("failed", fit.Status);
        Assert.Equal("diverged", fit.StopReason);
        Assert.Contains("learning rate", fit.Error);
        Assert.True(fit.Step < 1000);
        Assert.NotEmpty(fit.History!);
    }

    [Fact]
    public async Task CsvPointsWithFieldsInTheQuery()
    {
        var csv = "x,y\n" + string.Join("\n", LessonData.X.Zip(LessonData.Y, (x, y) => FormattableString.Invariant($"{x:R},{y:R}")));
        var content = new StringContent(csv, System.Text.Encoding.UTF8, "text/csv");
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/fits?degree=2&loss=mae&learningRate=0.01&steps=10&initialParams=1.1,1.1,1.1&label=csv")
        { Content = content };
        request.Headers.TryAddWithoutValidation("Prefer", "wait=30");
        var fit = await (await _client.SendAsync(request)).ReadFit();

        Assert.Equal("succeeded", fit.Status);
        Assert.Equal(20, fit.Request.Points);
        Assert.Equal(2.4219, fit.History![0]!.Value, 4);
    }

    [Fact]
    public async Task CsvPointsWithAFormulaModelAndTheExactSolver()
    {
        var csv = "x,y\n0,1\n1,2.7\n2,7.4\n3,20.1\n";
        var formula = new HttpRequestMessage(HttpMethod.Post,
            "/v1/fits?formula=a*exp(b*x)&params=a,%20b&loss=mse&learningRate=0.001&steps=200&initialParams=1,1")
        { Content = new StringContent(csv, System.Text.Encoding.UTF8, "text/csv") };
        formula.Headers.TryAddWithoutValidation("Prefer", "wait=30");
        var byFormula = await (await _client.SendAsync(formula)).ReadFit();
        Assert.Equal("succeeded", byFormula.Status);
        Assert.Equal("a*exp(b*x)", byFormula.Request.Model!.Formula);
        Assert.Equal(["a", "b"], byFormula.Request.Model.Params!);
        Assert.Equal(2, byFormula.Params!.Length);

        var exact = new HttpRequestMessage(HttpMethod.Post, "/v1/fits?degree=1&loss=mse&solver=exact")
        { Content = new StringContent(csv, System.Text.Encoding.UTF8, "text/csv") };
        exact.Headers.TryAddWithoutValidation("Prefer", "wait=30");
        var byExact = await (await _client.SendAsync(exact)).ReadFit();
        Assert.Equal("succeeded", byExact.Status);
        Assert.Equal("exact", byExact.Request.Solver);

        var noParams = await _client.PostAsync("/v1/fits?formula=a*x&loss=mse&learningRate=0.1&steps=5",
            new StringContent(csv, System.Text.Encoding.UTF8, "text/csv"));
        Assert.Equal(HttpStatusCode.BadRequest, noParams.StatusCode);
        Assert.True((await noParams.ReadProblem()).GetProperty("errors").TryGetProperty("model.params", out _));
    }

    [Fact]
    public async Task BadCsvNamesTheLine()
    {
        var content = new StringContent("x,y\n1,2\n3,four\n", System.Text.Encoding.UTF8, "text/csv");
        var response = await _client.PostAsync("/v1/fits?degree=1&loss=mse&learningRate=0.1&steps=5&color=red", content);

        var errors = (await response.ReadProblem()).GetProperty("errors");
        Assert.Contains("line 3", errors.GetProperty("body")[0].GetString());
        Assert.Equal("is not a known field", errors.GetProperty("color")[0].GetString());
    }

    private async Task<FitResource> PollUntil(string id, Func<FitResource, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var fit = (await _client.GetFromJsonAsync<FitResource>($"/v1/fits/{id}", TestApi.Json))!;
            if (condition(fit)) return fit;
            Assert.True(DateTime.UtcNow < deadline, $"fit {id} never reached the condition; last status {fit.Status}, step {fit.Step}");
            await Task.Delay(50);
        }
    }
}
