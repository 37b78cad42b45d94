using Hangfire;

namespace FitService.Api.Jobs;

/// <summary>Hands stored fits to the workers. Only the id travels: the points stay in the store.</summary>
public interface IFitQueue
{
    void Enqueue(string fitId);
}

public sealed class HangfireFitQueue(IBackgroundJobClient jobs) : IFitQueue
{
    public const string Queue = "fits";

    public void Enqueue(string fitId) => jobs.Enqueue<FitJob>(Queue, job => job.RunAsync(fitId, null, CancellationToken.None));
}
