namespace FitService.Contracts;

/// <summary>The values of a fit's (and a finder run's) <c>status</c>.</summary>
public static class FitStatuses
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";

    /// <summary>True for <c>succeeded</c>, <c>failed</c> and <c>cancelled</c>: nothing will change any more.</summary>
    public static bool IsEnded(string? status) => status is Succeeded or Failed or Cancelled;
}
