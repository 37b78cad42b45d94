using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FitService.Api.Storage;
using FitService.Api.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace FitService.Api.Tests.Batches;

/// <summary>
/// Batches around and above the slice a big batch is stored in (<see cref="SqliteFitStore.BatchSliceFits"/>), as a client
/// sees them over HTTP: sizes at the slice's edges and at the bound, idempotency keys replayed at once and with another body.
/// No worker runs, so what is stored stays queued and can be counted (the service without keys: tenant "").
/// </summary>
public sealed class BatchSliceTests
{
    private const int Slice = SqliteFitStore.BatchSliceFits;

    private static object Batch(int fits, double shift = 0) => new
    {
        defaults = new { degree = 1, loss = "mse", learningRate = 0.01, steps = 10 },
        fits = Enumerable.Range(0, fits).Select(i => new { x = new[] { 0.0, 1, 2 }, y = new[] { shift, 1.0, i }, label = $"item-{i}" }).ToArray(),
    };

    private static Task<HttpResponseMessage> Post(HttpClient client, object body, string? key = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/batches") { Content = JsonContent.Create(body) };
        if (key is not null) request.Headers.Add("Idempotency-Key", key);
        return client.SendAsync(request);
    }

    private static async Task<int> StoredFits(FitServiceFactory factory) =>
        await factory.Services.GetRequiredService<IFitStore>().CountActiveAsync("", CancellationToken.None);

    [Theory]
    [InlineData(Slice)]
    [InlineData(Slice + 1)]
    [InlineData(2 * Slice)]
    [InlineData(2 * Slice + 1)]
    [InlineData(10_000)]
    public async Task ABatchAtTheSlicesEdgesOrAtTheBoundIsStoredWholeInItemOrder(int fits)
    {
        await using var factory = new FitServiceFactory(("Workers:Count", "0"));
        var client = factory.CreateClient();

        var answer = await Post(client, Batch(fits));

        Assert.Equal(HttpStatusCode.Accepted, answer.StatusCode);
        var posted = await answer.Content.ReadFromJsonAsync<JsonElement>();
        var id = posted.GetProperty("id").GetString();
        Assert.Equal(fits, posted.GetProperty("total").GetInt32());
        var read = await client.GetFromJsonAsync<JsonElement>($"/v1/batches/{id}");
        Assert.Equal(fits, read.GetProperty("total").GetInt32());
        Assert.Equal(fits, read.GetProperty("counts").GetProperty("queued").GetInt32());
        Assert.Equal(posted.GetProperty("fitIds").EnumerateArray().Select(f => f.GetString()), read.GetProperty("fitIds").EnumerateArray().Select(f => f.GetString()));
        var results = (await client.GetStringAsync($"/v1/batches/{id}/results")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(Enumerable.Range(0, fits).Select(i => $"item-{i}"), results.Select(line => JsonDocument.Parse(line).RootElement.GetProperty("label").GetString()));
        Assert.Equal(fits, await StoredFits(factory));
    }

    [Fact]
    public async Task OneMoreThanTheBoundIsRefusedAndNothingIsStored()
    {
        await using var factory = new FitServiceFactory(("Workers:Count", "0"), ("Limits:MaxBatchFits", $"{Slice + 100}"));
        var client = factory.CreateClient();

        var answer = await Post(client, Batch(Slice + 101));

        Assert.Equal(HttpStatusCode.BadRequest, answer.StatusCode);
        Assert.True((await answer.ReadProblem()).GetProperty("errors").TryGetProperty("fits", out _));
        Assert.Equal(0, await StoredFits(factory));
    }

    [Fact]
    public async Task TheSameKeySentTwiceAtOnceWithABigBatchStoresOneBatchAndAnswersBothWithIt()
    {
        await using var factory = new FitServiceFactory(("Workers:Count", "0"));
        var client = factory.CreateClient();
        var body = Batch(Slice + 300);

        var answers = await Task.WhenAll(Post(client, body, "big-once"), Post(client, body, "big-once"), Post(client, body, "big-once"));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Accepted, a.StatusCode));
        var ids = await Task.WhenAll(answers.Select(async a => (await a.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()));
        Assert.Single(ids.Distinct());
        Assert.Equal(2, answers.Count(a => a.Headers.Contains("Idempotent-Replayed")));
        // The fits the losers stored while their slices went in are gone.
        Assert.Equal(Slice + 300, await StoredFits(factory));
    }

    [Fact]
    public async Task TheSameKeyWithAnotherBigBatchIs409NamingTheFirstAndStoresNothingMore()
    {
        await using var factory = new FitServiceFactory(("Workers:Count", "0"));
        var client = factory.CreateClient();

        // At once: one of the two is stored, the other is told the key names it.
        var answers = await Task.WhenAll(Post(client, Batch(Slice + 300), "big-key"), Post(client, Batch(Slice + 300, shift: 1), "big-key"));
        var accepted = Assert.Single(answers, a => a.StatusCode == HttpStatusCode.Accepted);
        var conflict = Assert.Single(answers, a => a.StatusCode == HttpStatusCode.Conflict);
        var id = (await accepted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        Assert.Contains(id, (await conflict.ReadProblem()).GetProperty("detail").GetString());
        Assert.Equal(Slice + 300, await StoredFits(factory));

        // Afterwards, with a third body.
        var later = await Post(client, Batch(Slice + 5, shift: 2), "big-key");
        Assert.Equal(HttpStatusCode.Conflict, later.StatusCode);
        Assert.Contains(id, (await later.ReadProblem()).GetProperty("detail").GetString());
        Assert.Equal(Slice + 300, await StoredFits(factory));
    }
}
