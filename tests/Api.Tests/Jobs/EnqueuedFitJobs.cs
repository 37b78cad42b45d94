using FitService.Api.Jobs;
using Hangfire;
using Hangfire.InMemory;

namespace FitService.Api.Tests.Jobs;

/// <summary>What the embedded queue enqueued in a Hangfire.InMemory storage with no server, read back.</summary>
internal static class EnqueuedFitJobs
{
    /// <summary>The fit ids of each enqueued fit job, oldest first.</summary>
    public static List<string[]> Of(InMemoryStorage storage) =>
        [.. storage.GetMonitoringApi().EnqueuedJobs(HangfireFitQueue.Queue, 0, 1000)
            .OrderBy(j => long.Parse(j.Key))
            .Select(j => j.Value.Job.Args[0] switch { string id => new[] { id }, string[] ids => ids, var other => throw new InvalidOperationException($"{other}") })];
}
