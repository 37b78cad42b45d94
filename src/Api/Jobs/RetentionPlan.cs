using FitService.Api.Storage;
using Microsoft.Extensions.Options;

namespace FitService.Api.Jobs;

/// <summary>
/// What one retention sweep deletes, from <see cref="RetentionOptions"/>: per ended status, each tenant with days of its
/// own for that status, then every other tenant by the default days. A status kept forever (0 days) is left out, but a
/// tenant's own 0 still keeps its fits from the default's delete.
/// </summary>
public static class RetentionPlan
{
    /// <summary>The most days a retention may be (a century): beyond it a clock's arithmetic overflows, and nobody means it.</summary>
    public const double MaxDays = 36_500;

    private static readonly FitStatus[] Ended = [FitStatus.Succeeded, FitStatus.Failed, FitStatus.Cancelled];

    public static IEnumerable<(FitStatus Status, RetentionScope Scope, TimeSpan KeptFor)> Of(RetentionOptions options)
    {
        foreach (var status in Ended)
        {
            var ownDays = new List<string>();
            foreach (var (tenant, own) in options.Tenants.OrderBy(t => t.Key, StringComparer.Ordinal))
            {
                if (own?.DaysFor(status) is not { } days) continue;
                ownDays.Add(tenant);
                if (days > 0) yield return (status, RetentionScope.Only(tenant), TimeSpan.FromDays(days));
            }
            if (options.DaysFor(status) is var byDefault and > 0) yield return (status, new RetentionScope(null, ownDays), TimeSpan.FromDays(byDefault));
        }
    }

    /// <summary>What is wrong with the retention settings, each naming its key; empty when they are usable.</summary>
    public static IReadOnlyList<string> Errors(RetentionOptions options)
    {
        var errors = new List<string>();
        void Check(string key, double? days)
        {
            if (days is { } d && !(d >= 0 && d <= MaxDays)) errors.Add($"{key} must be a number of days from 0 (keep forever) to {MaxDays:0}; it is {d}");
        }
        foreach (var status in Ended) Check($"{RetentionOptions.Section}:{Name(status)}", options.DaysFor(status));
        foreach (var (tenant, own) in options.Tenants)
        {
            if (own is null) continue;
            foreach (var status in Ended) Check($"{RetentionOptions.Section}:Tenants:{tenant}:{Name(status)}", own.DaysFor(status));
        }
        if (options.BatchSize < 1) errors.Add($"{RetentionOptions.Section}:BatchSize must be at least 1; it is {options.BatchSize}");
        if (options.IntervalSeconds < 1) errors.Add($"{RetentionOptions.Section}:IntervalSeconds must be at least 1; it is {options.IntervalSeconds}");
        return errors;
    }

    private static string Name(FitStatus status) => status switch
    {
        FitStatus.Succeeded => nameof(RetentionOptions.SucceededDays),
        FitStatus.Failed => nameof(RetentionOptions.FailedDays),
        _ => nameof(RetentionOptions.CancelledDays),
    };
}

/// <summary>Refuses to start with retention settings that <see cref="RetentionPlan.Errors"/> finds wrong, naming each key.</summary>
public sealed class RetentionOptionsValidation : IValidateOptions<RetentionOptions>
{
    public ValidateOptionsResult Validate(string? name, RetentionOptions options) =>
        RetentionPlan.Errors(options) is { Count: > 0 } errors ? ValidateOptionsResult.Fail(errors) : ValidateOptionsResult.Success;
}
