using System.Net;
using System.Text.Json;
using FitService.Api.Fits;
using FitService.Api.Tests.Infrastructure;

namespace FitService.Api.Tests.Resilience;

/// <summary>
/// Reads of a fit with millions of steps stay small and cheap: 16 at once against a real service process (under a
/// 2 GiB heap limit, so a regression fails inside it rather than taking the machine), each answer under 2 MB and the
/// process grown by under 500 MB.
/// </summary>
public sealed class LongHistoryMemoryTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("fitservice-history-").FullName;
    private ServiceProcess _service = null!;

    public async Task InitializeAsync() => _service = await ServiceProcess.StartAsync(
        new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = "0x80000000" },
        $"Storage:ConnectionString=Data Source={Path.Combine(_folder, "fits.db")}", "Workers:Count=1");

    public async Task DisposeAsync()
    {
        await _service.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    private async Task<FitResource> TwoMillionStepFit()
    {
        var client = _service.Client;
        var submitted = await (await client.PostFit(TestApi.SmallFit(steps: 2_000_000))).ReadFit();
        FitResource fit;
        do fit = await client.WaitForEnd(submitted.Id, seconds: 60);
        while (fit.Status is "queued" or "running");
        Assert.Equal("succeeded", fit.Status);
        Assert.Equal(2_000_000, fit.HistoryTotal);
        return fit;
    }

    /// <summary>Sends the 16 requests at once; asserts each answer is under 2 MB and the process grew by under 500 MB.</summary>
    private async Task AssertSixteenAtOnceStaySmall(Func<int, HttpRequestMessage> request)
    {
        GC.Collect();
        var before = _service.ResidentBytes();
        var peak = before;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peak = Math.Max(peak, _service.ResidentBytes());
                await Task.Delay(20);
            }
        });
        var reads = Enumerable.Range(0, 16).Select(async i =>
        {
            var response = await _service.Client.SendAsync(request(i));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (await response.Content.ReadAsByteArrayAsync()).Length;
        }).ToList();
        var sizes = await Task.WhenAll(reads);
        sampling.Cancel();
        await sampler;

        Assert.All(sizes, size => Assert.True(size < 2_000_000, $"an answer of {size:N0} bytes"));
        var grown = peak - before;
        Assert.True(grown < 500L << 20, $"the process grew by {grown >> 20} MB (from {before >> 20} MB)");
        Assert.False(_service.HasExited);
    }

    [Fact]
    public async Task SixteenConcurrentReadsOfATwoMillionStepFitStaySmall()
    {
        var fit = await TwoMillionStepFit();
        await AssertSixteenAtOnceStaySmall(i =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, i % 4 == 3 ? $"/v1/fits/{fit.Id}/events" : $"/v1/fits/{fit.Id}");
            if (i % 4 == 1) request.Headers.TryAddWithoutValidation("Prefer", "wait=5");
            return request;
        });
    }

    [Fact]
    public async Task SixteenConcurrentLossPicturesOfATwoMillionStepFitStaySmall()
    {
        // The picture used to read the whole history at once: 16 of them grew the process by 1.1 GB.
        var fit = await TwoMillionStepFit();
        await AssertSixteenAtOnceStaySmall(i => new HttpRequestMessage(HttpMethod.Get, $"/v1/fits/{fit.Id}/loss.svg" + (i % 2 == 0 ? "?scale=log" : "")));
    }
}
