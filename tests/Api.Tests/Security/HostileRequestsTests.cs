using FitService.Api.Storage;
using FitService.Api.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace FitService.Api.Tests.Security;

/// <summary>Every request of the hostile corpus is answered 4xx problem details — never 5xx — and stores nothing.</summary>
public sealed class HostileRequestsTests(HostileRequestsTests.NoWorkers factory) : IClassFixture<HostileRequestsTests.NoWorkers>
{
    public sealed class NoWorkers() : FitServiceFactory(("Workers:Count", "0"), ("Limits:MaxPoints", HostileRequests.MaxPoints.ToString()), ("Limits:MaxSteps", "100000"));

    [Fact]
    public void TheCorpusHasAtLeast200Requests() => Assert.True(HostileRequests.All.Value.Count >= 200, $"{HostileRequests.All.Value.Count} cases");

    [Theory]
    [MemberData(nameof(HostileRequests.Names), MemberType = typeof(HostileRequests))]
    public async Task IsAnswered4xxProblemAndStoresNothing(string name)
    {
        var hostile = HostileRequests.All.Value[name];
        var request = new HttpRequestMessage(new HttpMethod(hostile.Method), hostile.Path);
        if (hostile.Body is not null)
        {
            request.Content = new ByteArrayContent(hostile.Body());
            request.Content.Headers.Remove("Content-Type");
            if (hostile.ContentType is not null) request.Content.Headers.TryAddWithoutValidation("Content-Type", hostile.ContentType);
        }
        foreach (var (header, value) in hostile.Headers) request.Headers.TryAddWithoutValidation(header, value);

        var response = await factory.CreateClient().SendAsync(request);

        var status = (int)response.StatusCode;
        Assert.True(status is >= 400 and < 500, $"{name}: {status} {await response.Content.ReadAsStringAsync()}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var fits = await factory.Services.GetRequiredService<IFitStore>().ListAsync("", new FitQuery(null, null, 10, null), default);
        Assert.Empty(fits);
    }
}
