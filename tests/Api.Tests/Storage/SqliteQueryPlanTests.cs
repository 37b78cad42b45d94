using FitService.Api.Storage;
using Microsoft.Data.Sqlite;

namespace FitService.Api.Tests.Storage;

/// <summary>
/// The queries that run per submission or per fit end search the small partial indexes of unfinished fits, not a scan
/// and not an index over every fit (a batch's completion check over ix_fits_batch made batches three times slower);
/// list pages search an index too.
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
    [InlineData(SqliteFitStore.UnfinishedSql, "ix_fits_open")]
    [InlineData(SqliteFitStore.QueuedCountSql, "ix_fits_open")]
    [InlineData(SqliteFitStore.ActiveCountSql, "ix_fits_open")]
    [InlineData(SqliteFitStore.UnfinishedInBatchSql, "ix_fits_batch_open")]
    [InlineData(SqliteFitStore.PendingOptimaSql, "ix_fits_optimum_pending")]
    public void HotQueriesSearchTheirPartialIndex(string sql, string index)
    {
        var plan = Plan(sql);

        Assert.Contains(plan, step => step.Contains($"INDEX {index}", StringComparison.Ordinal));
        Assert.DoesNotContain(plan, step => step.StartsWith("SCAN fits", StringComparison.Ordinal) && !step.Contains(index, StringComparison.Ordinal));
    }

    /// <summary>Schema 11 dropped the status-keyed indexes; no page of <c>GET /v1/fits</c>, whatever its filters, became a table scan.</summary>
    [Theory]
    [InlineData(null, null, null, null)]
    [InlineData(FitStatus.Queued, null, null, null)]
    [InlineData(FitStatus.Running, null, null, 42L)]
    [InlineData(FitStatus.Succeeded, "label", null, null)]
    [InlineData(null, null, "batch", null)]
    [InlineData(FitStatus.Running, null, "batch", 42L)]
    public void EveryListPageSearchesAnIndexRatherThanScanTheTable(FitStatus? status, string? label, string? batch, long? before)
    {
        var plan = Plan(FitRows.ListSql(new FitQuery(status, label, 50, before, batch), '$', FitRows.SqliteColumns));

        Assert.Contains(plan, step => step.StartsWith("SEARCH fits USING INDEX", StringComparison.Ordinal));
        Assert.DoesNotContain(plan, step => step.StartsWith("SCAN fits", StringComparison.Ordinal));
        // Each row's outcome (schema 12) is one search of its table's key.
        Assert.Contains(plan, step => step.Contains("SEARCH o USING INDEX sqlite_autoindex_fit_outcomes_1 (fit_id=?)", StringComparison.Ordinal));
        Assert.DoesNotContain(plan, step => step.StartsWith("SCAN o", StringComparison.Ordinal));
    }

    /// <summary>
    /// A fit's start (queued to running) writes its row and no index entry, so a chunk's start write touches one b-tree per
    /// fit: no index of <c>fits</c> is keyed on, or filtered by, what a start changes.
    /// </summary>
    [Fact]
    public void NoIndexOfFitsDependsOnWhatAStartChanges()
    {
        using var conn = Open();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'fits' AND sql IS NOT NULL";
        var indexes = new List<(string Name, string Sql)>();
        using (var reader = cmd.ExecuteReader())
            while (reader.Read()) indexes.Add((reader.GetString(0), reader.GetString(1)));

        Assert.NotEmpty(indexes);
        foreach (var started in new[] { "status", "attempt", "step", "params", "loss", "started_at" })
        {
            Assert.DoesNotContain(indexes, index => System.Text.RegularExpressions.Regex.IsMatch(index.Sql, $@"\b{started}\b"));
        }
    }

    private List<string> Plan(string sql)
    {
        using var conn = Open();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = "EXPLAIN QUERY PLAN " + sql;
        foreach (var (name, value) in new (string, object)[]
                 { ("$t", "tenant"), ("$b", "batch"), ("$before", 0), ("$limit", 10), ("$status", 0), ("$label", "l"), ("$batch", "b") })
        {
            if (sql.Contains(name, StringComparison.Ordinal)) cmd.Parameters.AddWithValue(name, value);
        }
        var plan = new List<string>();
        using (var reader = cmd.ExecuteReader())
            while (reader.Read()) plan.Add(reader.GetString(3));
        return plan;
    }

    private SqliteConnection Open()
    {
        var conn = new SqliteConnection($"Data Source={_store.DatabasePath}");
        conn.Open();
        return conn;
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }
}
