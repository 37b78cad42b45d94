using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace FitService.Api.Tests.Infrastructure;

/// <summary>
/// One PostgreSQL server for the whole test run: the server named by <c>FITSERVICE_TEST_PG</c> (a connection string
/// with rights to create databases), else a throw-away cluster started from the Debian binaries
/// (<c>/usr/lib/postgresql/*/bin</c>, or the folder in <c>FITSERVICE_TEST_PG_BIN</c>) and removed at the end.
/// Tests ask it for a fresh database each (<see cref="CreateDatabaseAsync"/>). Use it through
/// <c>[Collection(PostgresCollection.Name)]</c> and a constructor parameter; mark tests <see cref="PostgresFactAttribute"/>
/// (or the class <see cref="RequiresPostgresAttribute"/> for inherited contract tests) so they are skipped, not failed,
/// where no server can be had.
/// </summary>
public sealed class PostgresCluster : IAsyncLifetime
{
    public const string ServerVariable = "FITSERVICE_TEST_PG";
    public const string BinariesVariable = "FITSERVICE_TEST_PG_BIN";

    private static readonly Lazy<string?> LazySkipReason = new(FindSkipReason);

    private readonly List<string> _databases = [];
    private readonly bool _ownCluster;
    private string? _folder;
    private string? _binaries;
    private string? _serverOptions;
    private NpgsqlDataSource? _admin;

    public PostgresCluster() : this(ownCluster: false) { }

    private PostgresCluster(bool ownCluster) => _ownCluster = ownCluster;

    /// <summary>
    /// Starts a second, independent throw-away cluster (never <c>FITSERVICE_TEST_PG</c>), for a test that stops or
    /// restarts its server (<see cref="StopServerAsync"/>, <see cref="StartServerAsync"/>) without disturbing the shared one.
    /// Dispose it to stop and remove it. Check <see cref="OwnClusterSkipReason"/> first.
    /// </summary>
    public static async Task<PostgresCluster> StartOwnAsync()
    {
        if (OwnClusterSkipReason is { } reason) throw new InvalidOperationException(reason);
        var cluster = new PostgresCluster(ownCluster: true);
        try
        {
            await cluster.InitializeAsync();
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
        return cluster;
    }

    /// <summary>Why a test cannot start a cluster of its own here (no binaries), or null when it can.</summary>
    public static string? OwnClusterSkipReason => LazyOwnSkipReason.Value;

    private static readonly Lazy<string?> LazyOwnSkipReason = new(() => FindSkipReason(ignoreServer: true));

    /// <summary><c>pg_ctl -m fast stop</c>: the server goes away, every connection with it.</summary>
    public Task StopServerAsync() => RunAsync("pg_ctl", "-D", DataFolder, "-m", "fast", "-w", "stop");

    /// <summary>Starts the stopped server again, on the same port.</summary>
    public Task StartServerAsync() =>
        RunAsync("pg_ctl", "-D", DataFolder, "-l", Path.Combine(_folder!, "server.log"), "-o", _serverOptions!, "-w", "-t", "60", "start");

    /// <summary>Why PostgreSQL tests cannot run here, or null when they can.</summary>
    public static string? SkipReason => LazySkipReason.Value;

    /// <summary>Connection string of the server's <c>postgres</c> database, as a superuser.</summary>
    public string ServerConnectionString { get; private set; } = "";

    /// <summary>True when this run started (and will stop) its own cluster rather than using <c>FITSERVICE_TEST_PG</c>.</summary>
    public bool IsThrowAway => _folder is not null;

    /// <summary>Creates an empty database with a unique name and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix = "fit")
    {
        if (_admin is null) throw new InvalidOperationException(SkipReason ?? "The PostgreSQL cluster is not started.");
        var name = $"{prefix}_{Guid.NewGuid():N}".ToLowerInvariant();
        await using (var cmd = _admin.CreateCommand($"CREATE DATABASE \"{name}\""))
        {
            await cmd.ExecuteNonQueryAsync();
        }
        lock (_databases) _databases.Add(name);
        return new NpgsqlConnectionStringBuilder(ServerConnectionString) { Database = name }.ConnectionString;
    }

    public async Task InitializeAsync()
    {
        if (!_ownCluster && Environment.GetEnvironmentVariable(ServerVariable) is { Length: > 0 } external)
        {
            ServerConnectionString = external;
        }
        else if ((_ownCluster ? OwnClusterSkipReason : SkipReason) is null)
        {
            await StartThrowAwayClusterAsync();
        }
        else
        {
            return;
        }
        _admin = NpgsqlDataSource.Create(ServerConnectionString);
    }

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_admin is not null && !IsThrowAway)
        {
            // Someone else's server: leave it as we found it.
            foreach (var name in _databases)
            {
                await using var cmd = _admin.CreateCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                await cmd.ExecuteNonQueryAsync();
            }
        }
        if (_admin is not null) await _admin.DisposeAsync();
        if (_folder is not null)
        {
            try
            {
                await RunAsync("pg_ctl", "-D", DataFolder, "-m", "fast", "-w", "stop");
            }
            finally
            {
                Directory.Delete(_folder, recursive: true);
            }
        }
    }

    private string DataFolder => Path.Combine(_folder!, "data");

    private async Task StartThrowAwayClusterAsync()
    {
        _binaries = FindBinaries()!;
        _folder = Directory.CreateTempSubdirectory("fitservice-pg-").FullName;
        if (IsRoot) await RunProcessAsync("chown", ["postgres:postgres", _folder]);
        await RunAsync("initdb", "-D", DataFolder, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync");

        // A free port can be taken by someone else before the server binds it: try a few.
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort();
            // Durability is worth nothing in a throw-away cluster; speed is.
            var options = _serverOptions = $"-p {port} -k {_folder} -c listen_addresses=127.0.0.1 -c max_connections=300 " +
                          "-c fsync=off -c synchronous_commit=off -c full_page_writes=off";
            try
            {
                await RunAsync("pg_ctl", "-D", DataFolder, "-l", Path.Combine(_folder, "server.log"), "-o", options, "-w", "-t", "60", "start");
                ServerConnectionString = new NpgsqlConnectionStringBuilder
                {
                    Host = "127.0.0.1", Port = port, Username = "postgres", Database = "postgres", MaxPoolSize = 300,
                }.ConnectionString;
                return;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
            }
        }
    }

    private static string? FindSkipReason() => FindSkipReason(ignoreServer: false);

    private static string? FindSkipReason(bool ignoreServer)
    {
        if (!ignoreServer && Environment.GetEnvironmentVariable(ServerVariable) is { Length: > 0 }) return null;
        if (FindBinaries() is null)
        {
            return $"PostgreSQL tests skipped: no initdb/pg_ctl in ${BinariesVariable} or /usr/lib/postgresql/*/bin " +
                   $"(install the Debian package 'postgresql') and ${ServerVariable} names no server.";
        }
        if (IsRoot && !File.Exists("/usr/sbin/runuser") && !File.Exists("/sbin/runuser"))
        {
            return "PostgreSQL tests skipped: running as root, and runuser is missing to start the cluster as 'postgres'.";
        }
        return null;
    }

    private static string? FindBinaries()
    {
        var candidates = Environment.GetEnvironmentVariable(BinariesVariable) is { Length: > 0 } chosen
            ? [chosen]
            : Directory.Exists("/usr/lib/postgresql")
                ? Directory.GetDirectories("/usr/lib/postgresql").OrderByDescending(VersionOf).Select(d => Path.Combine(d, "bin"))
                : [];
        return candidates.FirstOrDefault(bin => File.Exists(Path.Combine(bin, "initdb")) && File.Exists(Path.Combine(bin, "pg_ctl")));
    }

    private static int VersionOf(string folder) => int.TryParse(Path.GetFileName(folder), out var v) ? v : 0;

    private static bool IsRoot => Environment.UserName == "root";

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Runs a PostgreSQL program, as the <c>postgres</c> user when we are root (initdb refuses root).</summary>
    private Task RunAsync(string program, params string[] args)
    {
        var path = Path.Combine(_binaries ?? FindBinaries()!, program);
        return IsRoot ? RunProcessAsync("runuser", ["-u", "postgres", "--", path, .. args]) : RunProcessAsync(path, args);
    }

    private async Task RunProcessAsync(string file, string[] args)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = _folder ?? Path.GetTempPath(),
        };
        foreach (var arg in args) info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            var log = _folder is not null && File.Exists(Path.Combine(_folder, "server.log")) ? File.ReadAllText(Path.Combine(_folder, "server.log")) : "";
            throw new InvalidOperationException(
                $"{file} {string.Join(' ', args)} exited with {process.ExitCode}:\n{await stdout}\n{await stderr}\n{log}");
        }
    }
}

/// <summary>The test collection that shares one <see cref="PostgresCluster"/>; its classes run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresCluster>
{
    public const string Name = "PostgreSQL";
}

/// <summary>A fact that is skipped, with the reason, where no PostgreSQL server can be had.</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (PostgresCluster.SkipReason is { } reason) Skip = reason;
    }

    /// <summary>The test starts a cluster of its own (<see cref="PostgresCluster.StartOwnAsync"/>), so it needs the binaries even when <c>FITSERVICE_TEST_PG</c> is set.</summary>
    public bool OwnCluster
    {
        get;
        set
        {
            field = value;
            if (value && PostgresCluster.OwnClusterSkipReason is { } reason) Skip = reason;
        }
    }
}

/// <summary>Skips the <see cref="ConditionalFactAttribute"/> tests a class inherits (e.g. a store contract) where no PostgreSQL server can be had.</summary>
public sealed class RequiresPostgresAttribute : SkipConditionAttribute
{
    public override string? SkipReason => PostgresCluster.SkipReason;
}
