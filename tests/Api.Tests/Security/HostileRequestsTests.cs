using FitService.Api.Tests.Infrastructure;

namespace FitService.Api.Tests.Security;

/// <summary>Every request of the hostile corpus is answered 4xx problem details — never 5xx — and stores nothing.</summary>
public sealed class HostileRequestsTests(HostileRequestsTests.NoWorkers factory) : IClassFixture<HostileRequestsTests.NoWorkers>
{
    public sealed class NoWorkers() : FitServiceFactory(("Workers:Count", "0"), ("Limits:MaxPoints", HostileRequests.MaxPoints.ToString()), ("Limits:MaxSteps", "100000"));

    [Fact]
    public void TheCorpusHasAtLeast400RequestsAcrossEveryEndpoint()
    {
        var cases = HostileRequests.All.Value.Values;
        Assert.True(cases.Count >= 400, $"{cases.Count} cases");
        foreach (var prefix in new[] { "/v1/fits", "/v1/batches", "/v1/lr-finder", "/v1/evaluate", "/hangfire" })
            Assert.Contains(cases, c => c.Path.StartsWith(prefix, StringComparison.Ordinal));
        Assert.Contains(cases, c => c.ContentType == "text/csv");
        Assert.Contains(cases, c => c.Path.Contains('?'));
    }

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
        foreach (var (header, value) in hostile.Headers)
        {
            if (header == "Host") request.Headers.Host = value;
            else request.Headers.TryAddWithoutValidation(header, value);
        }

        var response = await factory.CreateClient().SendAsync(request);

        var status = (int)response.StatusCode;
        Assert.True(status is >= 400 and < 500, $"{name}: {status} {await response.Content.ReadAsStringAsync()}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(0, await StoredRows(factory.DatabasePath));
    }

    /// <summary>Fits (finder runs included) and batches in the database file itself.</summary>
    public static async Task<long> StoredRows(string databasePath)
    {
        await using var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={databasePath};Mode=ReadOnly;Pooling=False");
        await db.OpenAsync();
        await using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT (SELECT COUNT(*) FROM fits) + (SELECT COUNT(*) FROM batches)";
        return (long)(await cmd.ExecuteScalarAsync())!;
    }
}
