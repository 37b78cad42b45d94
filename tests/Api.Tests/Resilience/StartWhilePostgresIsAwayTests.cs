using System.Net;
using FitService.Api.Tests.Infrastructure;

namespace FitService.Api.Tests.Resilience;

/// <summary>
/// A process that starts while PostgreSQL is away (restarting, or not up yet beside it) waits for the database and then
/// serves, rather than exiting on its first start-up query: a worker restarted during a database restart used to die,
/// leaving the fits to the other workers. The published service, on a cluster of the test's own.
/// </summary>
public sealed class StartWhilePostgresIsAwayTests
{
    [PostgresFact(OwnCluster = true)]
    public async Task AProcessStartedWhilePostgresIsDownWaitsForItThenRunsFits()
    {
        await using var postgres = await PostgresCluster.StartOwnAsync();
        var database = await postgres.CreateDatabaseAsync("away");
        await postgres.StopServerAsync();

        await using var service = await ServiceProcess.LaunchAsync("Storage:Provider=postgres", $"Storage:ConnectionString={database}", "Workers:Count=1");
        var waitingBy = DateTime.UtcNow.AddSeconds(120);
        while (!service.Output.Contains("the database may be restarting", StringComparison.Ordinal))
        {
            Assert.False(service.HasExited, "the service exited while the database was away:\n" + service.Output);
            Assert.True(DateTime.UtcNow < waitingBy, "the service did not say it waits for the database:\n" + service.Output);
            await Task.Delay(100);
        }
        Assert.False(service.HasExited, service.Output);

        await postgres.StartServerAsync();
        var readyBy = DateTime.UtcNow.AddSeconds(120);
        while (true)
        {
            Assert.False(service.HasExited, "the service exited after the database came back:\n" + service.Output);
            try
            {
                if ((await service.Client.GetAsync("/health/ready")).StatusCode == HttpStatusCode.OK) break;
            }
            catch (HttpRequestException)
            {
                // Not listening yet: the start waits for the database first.
            }
            Assert.True(DateTime.UtcNow < readyBy, "not ready 120 s after the database came back:\n" + service.Output);
            await Task.Delay(100);
        }

        var response = await service.Client.PostFit(new { x = new[] { 0.0, 1, 2 }, y = new[] { 1.0, 3, 5 }, degree = 1, learningRate = 0.1, steps = 50 },
            ("Prefer", "wait=60"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("succeeded", (await response.ReadFit()).Status);
    }
}
