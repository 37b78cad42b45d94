using System.Net;
using System.Net.Http.Json;
using FitService.Api.Fits;
using FitService.Api.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace FitService.Api.Tests.Resilience;

/// <summary>Another process holding the SQLite file's write lock: a short hold is waited out, a long one is a clear 503, and nothing is lost.</summary>
public sealed class SqliteLockTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("fitservice-lock-").FullName;

    private string DatabaseFile => Path.Combine(_folder, "fits.db");

    [Fact]
    public async Task ALockedDatabaseIsWaitedForThen503WithRetryAfterAndNoAcceptedFitIsLost()
    {
        // Writes wait up to 2 s for a lock ("Default Timeout"), then give up.
        await using var service = await ServiceProcess.StartAsync($"Storage:ConnectionString=Data Source={DatabaseFile};Default Timeout=2", "Workers:Count=1");
        var accepted = new List<string> { (await (await service.Client.PostFit(TestApi.SmallFit(label: "before"))).ReadFit()).Id };
        await service.Client.WaitForEnd(accepted[0]);

        // A short hold: the submission waits for the lock and succeeds.
        using (var holder = await HoldExclusiveLockAsync())
        {
            var submit = service.Client.PostFit(TestApi.SmallFit(label: "during short lock"));
            await Task.Delay(1000);
            holder.Commit();
            var response = await submit;
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            accepted.Add((await response.ReadFit()).Id);
        }

        // A long hold: the submission is 503 problem details with Retry-After, never 500, and stores nothing.
        using (var holder = await HoldExclusiveLockAsync())
        {
            var response = await service.Client.PostFit(TestApi.SmallFit(label: "during long lock"));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.NotNull(response.Headers.RetryAfter);
            var problem = await response.ReadProblem();
            Assert.Contains("locked", problem.GetProperty("detail").GetString());
            holder.Commit();
        }

        // Released: submissions work again, and every accepted fit is there and runs.
        accepted.Add((await (await service.Client.PostFit(TestApi.SmallFit(label: "after"))).ReadFit()).Id);
        foreach (var id in accepted) Assert.Equal("succeeded", (await service.Client.WaitForEnd(id)).Status);
        var list = await service.Client.GetFromJsonAsync<FitList>("/v1/fits", TestApi.Json);
        Assert.Equal(accepted.OrderBy(i => i), list!.Items.Select(f => f.Id).OrderBy(i => i));
        Assert.DoesNotContain(list.Items, f => f.Label == "during long lock");
    }

    [Fact]
    public async Task ConcurrentWritesUnderAHeldLockAllFailWithin503NotOneTimeoutEach()
    {
        // 20 submissions queue behind one held lock. Each write's wait is counted from when it was asked for, so all
        // of them are 503 after about one busy timeout (2 s), while the lock is still held; before, the group failed,
        // then every write waited its own 2 s in turn (40 s for the last).
        await using var factory = new FitServiceFactory(_folder, ("Workers:Count", "0"), ("Storage:ConnectionString", $"Data Source={DatabaseFile};Default Timeout=2"));
        var client = factory.CreateClient();
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostFit(TestApi.SmallFit(label: "before"))).StatusCode);

        using var holder = await HoldExclusiveLockAsync();
        var submits = Enumerable.Range(0, 20).Select(i => client.PostFit(TestApi.SmallFit(label: $"during {i}"))).ToArray();
        // Generous for a loaded machine, and far below 20 timeouts of 2 s one after another.
        var responses = await Task.WhenAll(submits).WaitAsync(TimeSpan.FromSeconds(30));
        foreach (var response in responses)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.NotNull(response.Headers.RetryAfter);
            Assert.Equal("Storage busy", (await response.ReadProblem()).GetProperty("title").GetString());
        }
        holder.Commit();
        var list = await client.GetFromJsonAsync<FitList>("/v1/fits", TestApi.Json);
        Assert.Equal(["before"], list!.Items.Select(f => f.Label));
    }

    private sealed class LockHolder(SqliteConnection connection, SqliteTransaction transaction) : IDisposable
    {
        public void Commit() => transaction.Commit();

        public void Dispose()
        {
            transaction.Dispose();
            connection.Dispose();
        }
    }

    private async Task<LockHolder> HoldExclusiveLockAsync()
    {
        var connection = new SqliteConnection($"Data Source={DatabaseFile};Pooling=False");
        await connection.OpenAsync();
        var transaction = connection.BeginTransaction(deferred: false);
        using (var cmd = connection.CreateCommand())
        {
            // An actual write, so the lock is the writer's lock whatever the journal mode.
            cmd.Transaction = transaction;
            cmd.CommandText = "CREATE TABLE IF NOT EXISTS lock_probe (x INTEGER); INSERT INTO lock_probe VALUES (1);";
            await cmd.ExecuteNonQueryAsync();
        }
        return new LockHolder(connection, transaction);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }
}
