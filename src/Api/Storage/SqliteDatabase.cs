using Microsoft.Data.Sqlite;

namespace FitService.Api.Storage;

/// <summary>What every store over the one embedded SQLite file shares: where the file is, and how a writer connection is set up.</summary>
public static class SqliteDatabase
{
    /// <summary>The connection string with its file path made absolute (relative to the content root) and its folder created.</summary>
    public static SqliteConnectionStringBuilder Resolve(string connectionString, string contentRoot)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString);
        if (!Path.IsPathRooted(builder.DataSource) && builder.DataSource != ":memory:")
        {
            builder.DataSource = Path.GetFullPath(Path.Combine(contentRoot, builder.DataSource));
        }
        var folder = Path.GetDirectoryName(builder.DataSource);
        if (!string.IsNullOrEmpty(folder)) Directory.CreateDirectory(folder);
        builder.Pooling = true;
        // How long a write waits for another process's lock (SQLITE_BUSY) before it fails (then 503); "Default Timeout" in the connection string overrides.
        if (!new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString }.ContainsKey("Default Timeout")) builder.DefaultTimeout = 30;
        return builder;
    }

    /// <summary>WAL lets readers run beside the writer; busy_timeout (the connection's Default Timeout) lets two writers (two stores, two processes) take turns.</summary>
    public static string WriterPragmas(SqliteConnection connection) =>
        $"PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = {connection.DefaultTimeout * 1000};";
}
