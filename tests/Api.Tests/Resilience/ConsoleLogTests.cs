using FitService.Api.Tests.Infrastructure;

namespace FitService.Api.Tests.Resilience;

/// <summary>
/// The console log is written by a background thread (<c>Log:BufferSize</c>): a full buffer makes the logger wait rather than
/// drop a line, and an orderly stop still writes every line.
/// </summary>
public sealed class ConsoleLogTests
{
    [Theory]
    [InlineData("1")]
    [InlineData("10000")]
    [InlineData("0")]
    public async Task EveryRequestsLogLineIsWrittenByAnOrderlyStopHoweverSmallTheBuffer(string bufferSize)
    {
        var folder = Directory.CreateTempSubdirectory("fitservice-log-").FullName;
        try
        {
            var service = await ServiceProcess.StartAsync($"Storage:ConnectionString=Data Source={Path.Combine(folder, "fits.db")}", $"Log:BufferSize={bufferSize}");
            await using (service)
            {
                const int requests = 300;
                // Many at once: with a buffer of one line, most requests log while another line waits.
                for (var i = 0; i < requests; i += 30)
                {
                    await Task.WhenAll(Enumerable.Range(i, 30).Select(async n => (await service.Client.GetAsync($"/health/live?n={n}")).EnsureSuccessStatusCode()));
                }

                await service.TerminateAsync(TimeSpan.FromSeconds(120));

                var logged = service.Output.Split('\n').Count(l => l.Contains("HTTP GET /health/live responded 200", StringComparison.Ordinal));
                Assert.True(logged == requests, $"{logged} request lines of {requests}:\n{service.Output[^Math.Min(service.Output.Length, 4000)..]}");
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
