using System.Reflection;
using Hangfire;
using Hangfire.Common;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Utils;
using Hangfire.States;

namespace FitService.Api.Jobs;

/// <summary>
/// Wakes this process's idle Hangfire workers when another process enqueued a job, so that workers can poll the queue
/// seldom (an idle worker then costs a few queries a second) and still start a job within milliseconds. Hangfire.PostgreSql
/// wakes the workers of the enqueueing process through a registry of per-queue events; it has no public way to do so from
/// outside, so the registry is read by reflection once. Should a later version rename it, <see cref="Available"/> is
/// false (a test says so) and workers fall back to polling.
/// </summary>
public static class HangfireWakeups
{
    private static readonly AutoResetEventRegistry? Registry = typeof(PostgreSqlJobQueue)
        .GetField("_queueEventRegistry", BindingFlags.NonPublic | BindingFlags.Static)?.GetValue(null) as AutoResetEventRegistry;

    public static bool Available => Registry is not null;

    /// <summary>Wakes one idle worker of this process that waits on <paramref name="queue"/>.</summary>
    public static void Wake(string queue) => Registry?.Set(queue);
}

/// <summary>
/// Hangfire's job client that announces every job it enqueues (a NOTIFY, see <see cref="Notifications.PostgresFitSignals"/>),
/// so that worker processes wake at once (<see cref="HangfireWakeups"/>) instead of at their next queue poll.
/// </summary>
public sealed class AnnouncingJobClient(IBackgroundJobClient inner, Action<string> announce) : IBackgroundJobClient
{
    public string Create(Job job, IState state)
    {
        var id = inner.Create(job, state);
        if (state is EnqueuedState enqueued) announce(job.Queue ?? enqueued.Queue);
        return id;
    }

    public bool ChangeState(string jobId, IState state, string expectedState)
    {
        var changed = inner.ChangeState(jobId, state, expectedState);
        if (changed && state is EnqueuedState enqueued) announce(enqueued.Queue);
        return changed;
    }
}
