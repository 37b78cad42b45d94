namespace FitService.Api.Jobs;

/// <summary>
/// Waits for a task on a Hangfire worker thread without spinning. Hangfire waits for an async job's task with
/// <c>GetAwaiter().GetResult()</c>, which spins first: on a two-core machine the spinning workers took a fifth of the CPU
/// from the very store writes and requests they were waiting for. Job entry points block here instead.
/// </summary>
public static class Blocking
{
    public static void Wait(Task task)
    {
        if (!task.IsCompleted)
        {
            // No spin count: straight to a kernel wait. Not disposed: without a wait handle there is nothing to free.
            var done = new ManualResetEventSlim(false, spinCount: 0);
            task.ContinueWith(static (_, state) => ((ManualResetEventSlim)state!).Set(), done,
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            done.Wait();
        }
        task.GetAwaiter().GetResult();
    }

    public static T Wait<T>(Task<T> task)
    {
        Wait((Task)task);
        return task.Result;
    }
}
