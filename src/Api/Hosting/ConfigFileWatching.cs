namespace FitService.Api.Hosting;

/// <summary>
/// How the host notices a changed <c>appsettings.json</c>: by looking at the file's time every few seconds, not by an
/// inotify watch on the content root. The default watch is recursive, and the default database (<c>data/fitservice.db</c>)
/// lies under the content root, so every read and write of SQLite's pages went through the kernel's fsnotify hooks and
/// woke the watcher's thread: ~13 % of a batched fit's CPU (docs/throughput.md). Reloading on change still works, within
/// the polling interval (4 s).
/// </summary>
public static class ConfigFileWatching
{
    /// <summary>The .NET switch read by every <c>PhysicalFileProvider</c> made after this (the configuration's among them).</summary>
    public const string PollingVariable = "DOTNET_USE_POLLING_FILE_WATCHER";

    /// <summary>Polls for changes unless the operator set <see cref="PollingVariable"/> (<c>false</c> brings the watch back; empty counts as unset).</summary>
    public static void PollUnlessConfigured()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(PollingVariable))) Environment.SetEnvironmentVariable(PollingVariable, "true");
    }
}
