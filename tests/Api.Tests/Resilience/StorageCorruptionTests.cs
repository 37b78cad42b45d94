using System.Net;
using FitService.Api.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace FitService.Api.Tests.Resilience;

/// <summary>
/// A damaged SQLite file (a page overwritten, a file that is not a database) is noticed: readiness is unhealthy and
/// every request that meets it is 503 problem details with Retry-After, never 500 and never "Healthy".
/// </summary>
public sealed class StorageCorruptionTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("fitservice-corrupt-").FullName;

    private string DatabaseFile => Path.Combine(_folder, "fits.db");

    /// <summary>A service that stored a few fits and shut down cleanly, leaving everything in the main file.</summary>
    private async Task<List<string>> StoreSomeFitsAsync()
    {
        var ids = new List<string>();
        await using (var factory = new FitServiceFactory(_folder, ("Workers:Count", "1")))
        {
            var client = factory.CreateClient();
            for (var i = 0; i < 5; i++) ids.Add((await (await client.PostFit(TestApi.SmallFit(steps: 20, label: $"fit {i}"))).ReadFit()).Id);
            foreach (var id in ids) await client.WaitForEnd(id);
        }
        SqliteConnection.ClearAllPools();
        // Everything into the main file, so the bytes overwritten below are the ones SQLite reads.
        await using (var db = new SqliteConnection($"Data Source={DatabaseFile};Pooling=False"))
        {
            await db.OpenAsync();
            await using var cmd = db.CreateCommand();
            cmd.CommandText = "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE;";
            await cmd.ExecuteNonQueryAsync();
        }
        return ids;
    }

    /// <summary>Overwrites every page but the first (the header and the schema) with a byte pattern.</summary>
    private void CorruptEveryPageButTheFirst()
    {
        var bytes = File.ReadAllBytes(DatabaseFile);
        var pageSize = (bytes[16] << 8 | bytes[17]) is var p && p == 1 ? 65536 : bytes[16] << 8 | bytes[17];
        Assert.True(bytes.Length >= 2 * pageSize, "the database has more than one page");
        for (var i = pageSize; i < bytes.Length; i++) bytes[i] = (byte)(0xA5 ^ i);
        File.WriteAllBytes(DatabaseFile, bytes);
    }

    private static async Task AssertStorage503Async(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        var problem = await response.ReadProblem();
        Assert.Equal(503, problem.GetProperty("status").GetInt32());
        Assert.Equal("Storage corrupt", problem.GetProperty("title").GetString());
    }

    [Fact]
    public async Task ACorruptPageFoundByTheIntegrityCheckAtStartMakesReadinessUnhealthyAndRequests503()
    {
        var ids = await StoreSomeFitsAsync();
        CorruptEveryPageButTheFirst();

        await using var factory = new FitServiceFactory(_folder, ("Workers:Count", "1"));
        var client = factory.CreateClient();
        var ready = await client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        await AssertStorage503Async(await client.PostFit(TestApi.SmallFit()));
        await AssertStorage503Async(await client.GetAsync($"/v1/fits/{ids[0]}"));
        await AssertStorage503Async(await client.GetAsync("/v1/fits"));
    }

    [Fact]
    public async Task ACorruptPageMetByARequestIs503AndTurnsReadinessUnhealthy()
    {
        var ids = await StoreSomeFitsAsync();
        CorruptEveryPageButTheFirst();

        // No check at start: the first request to read a damaged page is what notices.
        await using var factory = new FitServiceFactory(_folder, ("Workers:Count", "0"), ("Storage:IntegrityCheckSeconds", "0"));
        var client = factory.CreateClient();
        await AssertStorage503Async(await client.GetAsync($"/v1/fits/{ids[0]}"));
        await AssertStorage503Async(await client.PostFit(TestApi.SmallFit()));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/health/ready")).StatusCode);
    }

    [Fact]
    public async Task AFileThatIsNotADatabaseStartsUnreadyAndRequestsAre503()
    {
        await File.WriteAllBytesAsync(DatabaseFile, Enumerable.Range(0, 64 * 1024).Select(i => (byte)(i * 7 + 3)).ToArray());

        await using var factory = new FitServiceFactory(_folder, ("Workers:Count", "1"));
        var client = factory.CreateClient();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/health/ready")).StatusCode);
        await AssertStorage503Async(await client.PostFit(TestApi.SmallFit()));
        await AssertStorage503Async(await client.GetAsync("/v1/fits"));
    }

    [Fact]
    public async Task AnIntactDatabasePassesTheCheckAndIsReady()
    {
        var ids = await StoreSomeFitsAsync();
        await using var factory = new FitServiceFactory(_folder, ("Workers:Count", "0"));
        var client = factory.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/v1/fits/{ids[0]}")).StatusCode);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }
}
