extern alias service;
using System.Net;
using System.Net.Sockets;
using FitService.Client;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace FitService.Client.Tests;

/// <summary>
/// The real FitService, started in this process on a free loopback port (Kestrel, SQLite in a temporary folder, 2 workers),
/// with webhooks signed by <see cref="WebhookSecret"/> and allowed to reach 127.0.0.1 over plain http, so the client talks
/// to it over real HTTP and receivers in the tests get real signed webhooks.
/// </summary>
public sealed class LiveFitService : IDisposable
{
    public const string WebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    private readonly WebApplicationFactory<service::Program> _factory;
    private readonly string _folder = Directory.CreateTempSubdirectory("fitservice-client-").FullName;

    public LiveFitService()
    {
        var port = FreePort();
        _factory = new WebApplicationFactory<service::Program>().WithWebHostBuilder(builder =>
        {
            builder.UseSetting("Storage:ConnectionString", $"Data Source={Path.Combine(_folder, "fits.db")}");
            builder.UseSetting("Workers:Count", "2");
            builder.UseSetting("Webhooks:SigningSecret", WebhookSecret);
            builder.UseSetting("Webhooks:AllowedHosts:0", "127.0.0.1");
            builder.UseSetting("Webhooks:RequireHttps", "false");
            builder.UseSetting("urls", $"http://127.0.0.1:{port}");
        });
        _factory.UseKestrel();
        _factory.StartServer();
        Url = new Uri($"http://127.0.0.1:{port}/");
    }

    public Uri Url { get; }

    /// <summary>A client as an application gets it: registered with <c>AddFitServiceClient</c> and resolved from DI.</summary>
    public FitServiceClient CreateClient(Action<IHttpClientBuilder>? configure = null)
    {
        var services = new ServiceCollection();
        var builder = services.AddFitServiceClient(o => o.BaseAddress = Url);
        configure?.Invoke(builder);
        return services.BuildServiceProvider().GetRequiredService<FitServiceClient>();
    }

    public void Dispose()
    {
        _factory.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

[CollectionDefinition(Name)]
public sealed class LiveFitServiceCollection : ICollectionFixture<LiveFitService>
{
    public const string Name = "live FitService";
}
