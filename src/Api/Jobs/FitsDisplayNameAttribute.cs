using Hangfire;
using Hangfire.Common;
using Hangfire.Dashboard;

namespace FitService.Api.Jobs;

/// <summary>
/// The dashboard's name of a job of many fits: "fits a1b2…, c3d4…, e5f6… and 29 more (32)", not the
/// "fits System.String[]" that string.Format makes of an array argument.
/// </summary>
public sealed class FitsDisplayNameAttribute() : JobDisplayNameAttribute("fits {0}")
{
    /// <summary>Ids shown by name; the rest are counted.</summary>
    public const int Shown = 3;

    public override string Format(DashboardContext context, Job job) => Describe(job.Args.Count > 0 ? job.Args[0] as string[] : null);

    /// <summary>The name for these fit ids.</summary>
    public static string Describe(string[]? fitIds)
    {
        if (fitIds is null || fitIds.Length == 0) return "fits (none)";
        var named = string.Join(", ", fitIds.Take(Shown));
        return fitIds.Length <= Shown ? $"fits {named}" : $"fits {named} and {fitIds.Length - Shown} more ({fitIds.Length})";
    }
}
