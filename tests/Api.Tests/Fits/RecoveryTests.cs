using FitService.Api.Fits;
using FitService.Api.Tests.Infrastructure;

namespace FitService.Api.Tests.Fits;

/// <summary>At start the service runs every fit its store holds as queued or running; an API-only process runs none.</summary>
public sealed class RecoveryTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("fitservice-recovery-").FullName;

    [Fact]
    public async Task FitsLeftQueuedByAnApiOnlyProcessRunWhenAProcessWithWorkersStarts()
    {
        var ids = new List<string>();
        using (var apiOnly = new Owned(_folder, ("Workers:Count", "0")))
        {
            var client = apiOnly.CreateClient();
            for (var i = 0; i < 3; i++) ids.Add((await (await client.PostFit(TestApi.SmallFit())).ReadFit()).Id);
            await Task.Delay(300);
            foreach (var id in ids) Assert.Equal("queued", (await client.GetFromJsonAsync<FitResource>($"/v1/fits/{id}", TestApi.Json))!.Status);
        }

        using var workers = new Owned(_folder, ("Workers:Count", "2"));
        var again = workers.CreateClient();
        foreach (var id in ids) Assert.Equal("succeeded", (await again.WaitForEnd(id)).Status);
    }

    /// <summary>A factory over a folder this test owns (not deleted when the factory is).</summary>
    private sealed class Owned(string folder, params (string, string?)[] settings) : FitServiceFactory(folder, settings);

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }
}
