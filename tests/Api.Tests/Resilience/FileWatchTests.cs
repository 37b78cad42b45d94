using FitService.Api.Hosting;
using FitService.Api.Tests.Infrastructure;

namespace FitService.Api.Tests.Resilience;

/// <summary>
/// The service keeps no inotify watch: the configuration's default one covers the content root recursively, where the
/// default database lives, and every page SQLite reads or writes went through it (docs/throughput.md).
/// </summary>
public sealed class FileWatchTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("fitservice-watch-").FullName;

    private string Database => $"Storage:ConnectionString=Data Source={Path.Combine(_folder, "fits.db")}";

    /// <summary>The inotify instances the process holds (Linux: each shows as an <c>anon_inode:inotify</c> descriptor).</summary>
    private static int InotifyInstances(int processId) =>
        new DirectoryInfo($"/proc/{processId}/fd").GetFileSystemInfos().Count(fd => fd.LinkTarget == "anon_inode:inotify");

    [Fact]
    public async Task TheServiceWatchesNoFilesUnlessTheOperatorAsksForTheWatch()
    {
        if (!OperatingSystem.IsLinux()) return;
        // Empty counts as unset here (the test process itself may have set the variable, and children inherit it).
        await using (var polling = await ServiceProcess.StartAsync(new Dictionary<string, string> { [ConfigFileWatching.PollingVariable] = "" }, Database))
        {
            Assert.Equal(0, InotifyInstances(polling.ProcessId));
        }
        await using var watching = await ServiceProcess.StartAsync(new Dictionary<string, string> { [ConfigFileWatching.PollingVariable] = "false" }, Database);
        Assert.True(InotifyInstances(watching.ProcessId) > 0, "the operator's choice of the watch was not honoured");
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }
}
