using FitService.Api.Storage;
using Microsoft.Data.Sqlite;

namespace FitService.Api.Tests.Storage;

/// <summary>
/// The queries that run per submission or per fit end search the small partial indexes of unfinished fits, not a scan
/// and not an index over every fit (a batch's completion check over ix_fits_batch made batches three times slower).
/// </summary>
public sealed class SqliteQueryPlanTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("queryplan-").FullName;
    private SqliteFitStore _store = null!;

    public async Task InitializeAsync()
    {
        _store = new SqliteFitStore("Data Source=fits.db", _folder);
        await _store.InitializeAsync(CancellationToken.None);
    }

    [Theory]
    [InlineData(SqliteFitStore.UnfinishedSql, "ix_fits_unfinished")]
    [InlineData(SqliteFitStore.ActiveCountSql, "ix_fits_active")]
    [InlineData(SqliteFitStore.UnfinishedInBatchSql, "ix_fits_batch_unfinished")]
    [InlineData(SqliteFitStore.PendingOptimaSql, "ix_fits_optimum_pending")]
    public void HotQueriesSearchTheirPartialIndex(string sql, string index)
    {
        using var conn = new SqliteConnection($"Data Source={_store.DatabasePath}");
        conn.Open();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = "EXPLAIN QUERY PLAN " + sql;
        cmd.Parameters.AddWithValue("$t", "tenant");
        cmd.Parameters.AddWithValue("$b", "batch");
        cmd.Parameters.AddWithValue("$before", 0);
        cmd.Parameters.AddWithValue("$limit", 10);
        var plan = new List<string>();
        using (var reader = cmd.ExecuteReader())
            while (reader.Read()) plan.Add(reader.GetString(3));

        Assert.Contains(plan, step => step.Contains($"INDEX {index}", StringComparison.Ordinal));
        Assert.DoesNotContain(plan, step => step.StartsWith("SCAN fits", StringComparison.Ordinal) && !step.Contains(index, StringComparison.Ordinal));
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }
}
