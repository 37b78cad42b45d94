using FitService.Api.Tests.Infrastructure;
using FitService.Api.Tests.Security;
using FitService.LoadTest;
using Xunit.Abstractions;

namespace FitService.Api.Tests.Resilience;

/// <summary>
/// The load test of bench/LoadTest in its short CI mode: a few thousand mixed submits and polls over loopback from two
/// tenants, in about five seconds. It asserts correctness under load (no 5xx, no dropped connection), not speed:
/// the full 60 s run and its figures are in docs/security.md.
/// </summary>
public sealed class LoadTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ShortMixedLoadOnLoopbackHasNoServerErrors()
    {
        var folder = Directory.CreateTempSubdirectory("fitservice-load-").FullName;
        try
        {
            await using var service = await ServiceProcess.StartAsync([.. Keys.Configured().Select(s => $"{s.Key}={s.Value}"),
                $"Storage:ConnectionString=Data Source={Path.Combine(folder, "fits.db")}", "Workers:Count=2"]);
            var report = await LoadRun.RunAsync(new LoadOptions
            {
                BaseUrl = service.Client.BaseAddress!,
                Requests = 3_000,
                RatePerSecond = 600,
                MaxDuration = TimeSpan.FromSeconds(15),
                SubmitFraction = 0.05,
                MaxInFlight = 64,
                ApiKeys = [Keys.Acme, Keys.Globex],
                SeedFits = 20,
                ServicePid = service.ProcessId,
            });
            output.WriteLine(report.ToMarkdown());

            Assert.Equal(0, report.ServerErrors);
            Assert.Equal(0, report.TransportErrors);
            Assert.Equal(report.Sent, report.Completed);
            Assert.All(report.StatusCounts.Keys, status => Assert.Contains(status, new[] { 200, 201, 202 }));
            // A loose bound, against leaks rather than for tuning: a short run must not grow the service by hundreds of MB.
            Assert.True(report.RssAfterBytes - report.RssBeforeBytes < 300L * 1024 * 1024, report.ToMarkdown());
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }
}
