using System.Net;
using FitService.Api.Jobs;
using FitService.Api.Tests.Infrastructure;
using FitService.Engine;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace FitService.Api.Tests.Resilience;

/// <summary>
/// The insert succeeds and the enqueue fails (the queue's storage fails between the two): the 503 says the fit was stored
/// and names it, and a retry with the same Idempotency-Key queues it at once. The failure is injected in the queue (a
/// seam over the real queue); the stores are real.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class EnqueueFailureTests(PostgresCluster cluster)
{
    /// <summary>The service's own queue, made to throw while <see cref="Failing"/> is set.</summary>
    private sealed class FailingQueue(IFitQueue inner) : IFitQueue
    {
        public volatile bool Failing;

        public void Enqueue(string fitId) => Check(() => inner.Enqueue(fitId));
        public void EnqueueMany(IReadOnlyList<QueuedFit> fits) => Check(() => inner.EnqueueMany(fits));
        public void JobStarted() => inner.JobStarted();

        private void Check(Action enqueue)
        {
            if (Failing) throw new InvalidOperationException("injected: the job storage is away");
            enqueue();
        }
    }

    private static WebApplicationFactory<Program> WithFailingQueue(FitServiceFactory service) =>
        service.WithWebHostBuilder(b => b.ConfigureTestServices(services =>
        {
            var real = services.Last(d => d.ServiceType == typeof(IFitQueue));
            services.Remove(real);
            services.AddSingleton(sp => new FailingQueue((IFitQueue)ActivatorUtilities.CreateInstance(sp, real.ImplementationType!)));
            services.AddSingleton<IFitQueue>(sp => sp.GetRequiredService<FailingQueue>());
        }));

    /// <summary>Big enough for a job of its own on PostgreSQL (the drain path never fails synchronously: it retries in the background).</summary>
    private static object Request() => new
    {
        x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mae", learningRate = 0.001, steps = 200_000, initialParams = new[] { 1.1, 1.1, 1.1 },
    };

    [Fact]
    public Task EmbeddedAFitStoredButNotQueuedIsToldAsSuchAndQueuedByTheRetryWithItsKey() =>
        StoredNotQueuedThenRepairedAsync(new FitServiceFactory(("Workers:Count", "2")));

    [PostgresFact]
    public async Task OnPostgresAFitStoredButNotQueuedIsToldAsSuchAndQueuedByTheRetryWithItsKey() =>
        await StoredNotQueuedThenRepairedAsync(new FitServiceFactory(("Storage:Provider", "postgres"),
            ("Storage:ConnectionString", await cluster.CreateDatabaseAsync("notqueued")), ("Workers:Count", "2")));

    private static async Task StoredNotQueuedThenRepairedAsync(FitServiceFactory service)
    {
        await using var _ = service;
        await using var host = WithFailingQueue(service);
        var client = host.CreateClient();
        var queue = host.Services.GetRequiredService<FailingQueue>();

        queue.Failing = true;
        var refused = await client.PostFit(Request(), ("Idempotency-Key", "k-1"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
        var problem = await refused.ReadProblem();
        var id = problem.GetProperty("fitId").GetString()!;
        Assert.Contains($"The fit {id} was stored", problem.GetProperty("detail").GetString());
        Assert.Equal("queued", (await client.GetFromJsonAsync<FitResource>($"/v1/fits/{id}", TestApi.Json))!.Status);

        queue.Failing = false;
        var retried = await client.PostFit(Request(), ("Idempotency-Key", "k-1"));
        Assert.Equal(HttpStatusCode.Accepted, retried.StatusCode);
        Assert.Equal(id, (await retried.ReadFit()).Id);
        // Queued by the retry: it ends within a wait, not after a sweep for orphans (minutes) or a restart.
        var fit = await client.WaitForEnd(id, 60);
        Assert.Equal("succeeded", fit.Status);
    }
}
