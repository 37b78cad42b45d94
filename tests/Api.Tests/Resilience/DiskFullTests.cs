using System.Diagnostics;
using System.Net;
using FitService.Api.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace FitService.Api.Tests.Resilience;

/// <summary>
/// The data folder fills up (a 4 MB tmpfs): submissions are 507 problem details, nothing is half-written, and once
/// space returns submissions work again and every accepted fit runs.
/// </summary>
public sealed class DiskFullTests : IDisposable
{
    private readonly string _mount = Directory.CreateTempSubdirectory("fitservice-full-").FullName;
    private readonly string? _skip;

    public DiskFullTests()
    {
        _skip = Run("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", _mount) == 0 ? null
            : "cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN); the disk-full test needs a small file system of its own";
    }

    private static object Fit(string label) => new
    {
        x = Enumerable.Range(0, 20_000).Select(i => i / 20_000.0).ToArray(),
        y = Enumerable.Range(0, 20_000).Select(i => 2.0 * i / 20_000.0 + 1).ToArray(),
        degree = 1, loss = "mse", learningRate = 0.1, steps = 50, label,
    };

    [Fact]
    public async Task AFullDiskIs507AndNothingHalfWrittenAndSubmissionsWorkOnceSpaceReturns()
    {
        if (_skip is not null)
        {
            Console.WriteLine("SKIPPED: " + _skip);
            return;
        }
        var filler = Path.Combine(_mount, "filler");
        var accepted = new List<string>();
        await using (var factory = new FitServiceFactory(_mount, ("Workers:Count", "0")))
        {
            var client = factory.CreateClient();
            accepted.Add((await (await client.PostFit(Fit("first"))).ReadFit()).Id);
            // Leave about a megabyte: room for a few fits of 320 KB of points each.
            File.WriteAllBytes(filler, new byte[Math.Max(0, new DriveInfo(_mount).AvailableFreeSpace - 1024 * 1024)]);

            HttpResponseMessage? full = null;
            for (var i = 0; i < 30 && full is null; i++)
            {
                var response = await client.PostFit(Fit($"fill-{i}"));
                if (response.StatusCode == HttpStatusCode.Accepted) accepted.Add((await response.ReadFit()).Id);
                else full = response;
            }
            Assert.NotNull(full);
            Assert.True(full!.StatusCode is HttpStatusCode.InsufficientStorage or HttpStatusCode.ServiceUnavailable,
                $"{(int)full.StatusCode}: {await full.Content.ReadAsStringAsync()}");
            Assert.NotNull(full.Headers.RetryAfter);
            await full.ReadProblem();

            // Still full: still a clear answer, and reads still work.
            Assert.Equal(HttpStatusCode.InsufficientStorage, (await client.PostFit(Fit("still full"))).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/v1/fits/{accepted[0]}")).StatusCode);

            File.Delete(filler);
            var after = await client.PostFit(Fit("after"));
            Assert.Equal(HttpStatusCode.Accepted, after.StatusCode);
            accepted.Add((await after.ReadFit()).Id);
        }

        // Nothing half-written: every fit row has its points, and the rows are exactly the accepted fits.
        SqliteConnection.ClearAllPools();
        await using (var db = new SqliteConnection($"Data Source={Path.Combine(_mount, "fits.db")};Pooling=False"))
        {
            await db.OpenAsync();
            var ids = new List<string>();
            await using (var cmd = db.CreateCommand())
            {
                cmd.CommandText = "SELECT f.id, length(p.x), length(p.y), f.points FROM fits f LEFT JOIN fit_points p ON p.fit_id = f.id";
                await using var reader = await cmd.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    ids.Add(reader.GetString(0));
                    Assert.Equal(reader.GetInt64(3) * 8, reader.GetInt64(1));
                    Assert.Equal(reader.GetInt64(3) * 8, reader.GetInt64(2));
                }
            }
            Assert.Equal(accepted.Order(), ids.Order());
        }

        // And every accepted fit runs to the end.
        await using (var factory = new FitServiceFactory(_mount, ("Workers:Count", "1")))
        {
            var client = factory.CreateClient();
            foreach (var id in accepted) Assert.Equal("succeeded", (await client.WaitForEnd(id)).Status);
        }
    }

    private static int Run(string file, params string[] args)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true, RedirectStandardOutput = true })!;
            process.WaitForExit();
            return process.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return -1;
        }
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        if (_skip is null) Run("umount", _mount);
        Directory.Delete(_mount, recursive: true);
    }
}
