using FitService.Api.Tests.Infrastructure;

namespace FitService.Api.Tests.Deploy;

/// <summary>
/// The configuration files are polled, not watched with the folder the default database lies in: a watcher there woke on
/// every write of SQLite's WAL (docs/throughput.md). Asked of a real process, through the inotify watches it holds.
/// </summary>
public sealed class ConfigurationWatchTests
{
    [Fact]
    public async Task TheServiceWatchesNoFolderUnlessTheFileWatcherIsAskedFor()
    {
        // "" stands for unset: the test process may carry the variable, and a child inherits it.
        await using (var service = await ServiceProcess.StartAsync(new Dictionary<string, string> { ["DOTNET_USE_POLLING_FILE_WATCHER"] = "" }, "Workers:Count=0"))
        {
            Assert.Equal(0, InotifyWatches(service.ProcessId));
        }
        await using (var watching = await ServiceProcess.StartAsync(new Dictionary<string, string> { ["DOTNET_USE_POLLING_FILE_WATCHER"] = "false" }, "Workers:Count=0"))
        {
            Assert.True(InotifyWatches(watching.ProcessId) > 0, "with the file watcher asked for, the content root should be watched");
        }
    }

    /// <summary>The inotify watches the process holds, from /proc (one "inotify wd:" line per watched folder).</summary>
    private static int InotifyWatches(int pid)
    {
        var watches = 0;
        foreach (var fd in Directory.EnumerateFiles($"/proc/{pid}/fdinfo"))
        {
            try
            {
                watches += File.ReadLines(fd).Count(line => line.StartsWith("inotify wd:", StringComparison.Ordinal));
            }
            catch (IOException)
            {
                // closed meanwhile
            }
        }
        return watches;
    }
}
