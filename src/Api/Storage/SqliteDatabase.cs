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
        builder.DefaultTimeout = 30;
        return builder;
    }

    /// <summary>WAL lets readers run beside the writer; busy_timeout lets two writers (two stores) take turns.</summary>
    public const string WriterPragmas = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 30000;";
}
