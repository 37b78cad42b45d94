using FitService.Api.Jobs;
using Hangfire.Common;

namespace FitService.Api.Tests.Jobs;

/// <summary>The Hangfire dashboard names a job of many fits by their ids, not "fits System.String[]".</summary>
public sealed class JobDisplayNameTests
{
    [Fact]
    public void AJobOfManyFitsShowsTheFirstIdsAndTheCount()
    {
        var ids = Enumerable.Range(0, 32).Select(i => $"fit{i:00}").ToArray();

        var name = new FitsDisplayNameAttribute().Format(null!, Job.FromExpression<FitJob>(j => j.RunMany(ids, null, CancellationToken.None)));

        Assert.Equal("fits fit00, fit01, fit02 and 29 more (32)", name);
        Assert.Equal("fits a, b", FitsDisplayNameAttribute.Describe(["a", "b"]));
    }
}
