extern alias service;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace FitService.Cli.Tests.EndToEnd;

/// <summary>
/// The real FitService for the end-to-end tests: the one at <c>FITSERVICE_TEST_URL</c> when that is set, else the
/// service itself started in this process on a free loopback port (Kestrel, SQLite in a temporary folder, 2 workers),
/// so fitctl and the example scripts talk to it over real HTTP.
/// </summary>
public sealed class LiveService : IDisposable
{
    private readonly WebApplicationFactory<service::Program>? _factory;
    private readonly string? _folder;

    public LiveService()
    {
        var configured = Environment.GetEnvironmentVariable(LiveServiceFactAttribute.UrlVariable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            Url = configured.TrimEnd('/');
            ApiKey = Environment.GetEnvironmentVariable(LiveServiceFactAttribute.ApiKeyVariable);
            return;
        }
        _folder = Directory.CreateTempSubdirectory("fitctl-service-").FullName;
        var port = FreePort();
        _factory = new WebApplicationFactory<service::Program>().WithWebHostBuilder(builder =>
        {
            builder.UseSetting("Storage:ConnectionString", $"Data Source={Path.Combine(_folder, "fits.db")}");
            builder.UseSetting("Workers:Count", "2");
            builder.UseSetting("urls", $"http://127.0.0.1:{port}");
        });
        _factory.UseKestrel();
        _factory.StartServer();
        Url = $"http://127.0.0.1:{port}";
    }

    public string Url { get; }

    public string? ApiKey { get; }

    public void Dispose()
    {
        _factory?.Dispose();
        if (_folder is not null)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

[CollectionDefinition(Name)]
public sealed class LiveServiceCollection : ICollectionFixture<LiveService>
{
    public const string Name = "live service";
}
