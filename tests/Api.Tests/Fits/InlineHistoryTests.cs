using System.Net;
using System.Text.Json;
using FitService.Api.Fits;
using FitService.Api.Tests.Infrastructure;

namespace FitService.Api.Tests.Fits;

/// <summary>
/// <c>Limits:MaxInlineHistory</c>: every fit representation carries at most the first N history entries and says how
/// many there are and where the rest is, so that no answer grows with <c>steps</c>.
/// </summary>
public sealed class InlineHistoryTests(InlineHistoryTests.Service factory) : IClassFixture<InlineHistoryTests.Service>
{
    public const int Cap = 10;

    public sealed class Service() : FitServiceFactory(("Workers:Count", "2"), ("Limits:MaxInlineHistory", Cap.ToString()));

    private readonly HttpClient _client = factory.CreateClient();

    [Fact]
    public async Task AShortHistoryIsInlineWholeAndSaysSo()
    {
        var fit = await (await _client.PostFit(TestApi.SmallFit(steps: Cap - 2), ("Prefer", "wait=30"))).ReadFit();

        Assert.Equal(Cap - 2, fit.History!.Length);
        Assert.Equal(Cap - 2, fit.HistoryTotal);
        Assert.False(fit.HistoryTruncated);
        Assert.Null(fit.HistoryNext);
    }

    [Fact]
    public async Task ALongHistoryIsCutToItsFirstEntriesAndLinksToTheRest()
    {
        var fit = await (await _client.PostFit(TestApi.SmallFit(steps: 50), ("Prefer", "wait=30"))).ReadFit();

        Assert.Equal("succeeded", fit.Status);
        Assert.Equal(Cap, fit.History!.Length);
        Assert.Equal(50, fit.HistoryTotal);
        Assert.True(fit.HistoryTruncated);
        Assert.Equal($"/v1/fits/{fit.Id}/history?offset={Cap}", fit.HistoryNext);

        var rest = await _client.GetFromJsonAsync<HistoryPage>(fit.HistoryNext, TestApi.Json);
        Assert.Equal(Cap, rest!.Offset);
        Assert.Equal(Cap, rest.Items[0].Step);
        Assert.Equal(50 - Cap, rest.Items.Count);
        var first = await _client.GetFromJsonAsync<HistoryPage>($"/v1/fits/{fit.Id}/history?limit={Cap}", TestApi.Json);
        Assert.Equal(first!.Items.Select(e => e.Loss), fit.History);
    }

    [Theory]
    [InlineData(100)]
    [InlineData(200_000)]
    public async Task EveryRepresentationOfAFitIsTheSameSizeWhateverItsSteps(int steps)
    {
        const int bound = 4_000; // the fit without history is ~1 KB; 10 entries add ~250 bytes
        var waited = await _client.PostFit(TestApi.SmallFit(steps: steps), ("Prefer", "wait=60"));
        var body = await waited.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.Created, waited.StatusCode);
        var id = JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;

        var sizes = new Dictionary<string, int>
        {
            ["Prefer: wait"] = body.Length,
            ["GET"] = (await _client.GetStringAsync($"/v1/fits/{id}")).Length,
            ["SSE end"] = (await _client.GetStringAsync($"/v1/fits/{id}/events")).Length,
        };
        var running = await _client.PostFit(TestApi.SmallFit(steps: 2_000_000));
        var runningId = (await running.ReadFit()).Id;
        await Until(async () => (await _client.GetFromJsonAsync<FitResource>($"/v1/fits/{runningId}", TestApi.Json))!.Step > Cap);
        var cancel = await _client.PostAsync($"/v1/fits/{runningId}/cancel", null);
        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        sizes["cancel"] = (await cancel.Content.ReadAsStringAsync()).Length;
        var cancelled = await _client.WaitForEnd(runningId);
        sizes["GET of a cancelled fit"] = JsonSerializer.Serialize(cancelled, TestApi.Json).Length;

        Assert.All(sizes, s => Assert.True(s.Value < bound, $"{s.Key}: {s.Value} characters"));
        Assert.True(cancelled.HistoryTotal > Cap && cancelled.History!.Length == Cap, $"{cancelled.History!.Length} of {cancelled.HistoryTotal}");
    }

    private static async Task Until(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not hold within 60 s");
            await Task.Delay(50);
        }
    }
}
