using Microsoft.Extensions.Options;

namespace FitService.Api.Hosting;

public static class HostingExtensions
{
    /// <summary>
    /// Listens on <paramref name="url"/> unless <c>--urls</c>, <c>ASPNETCORE_URLS</c>, <c>ASPNETCORE_HTTP_PORTS</c>,
    /// <c>ASPNETCORE_HTTPS_PORTS</c> or Kestrel configuration say otherwise. (A default URL set here would silently
    /// override the ports, which Kestrel applies only when no URL is given.)
    /// </summary>
    public static void UseDefaultUrl(this WebApplicationBuilder builder, string url)
    {
        var configured = builder.Configuration[WebHostDefaults.ServerUrlsKey];
        var ports = builder.Configuration[WebHostDefaults.HttpPortsKey] + builder.Configuration[WebHostDefaults.HttpsPortsKey];
        if (string.IsNullOrEmpty(configured) && string.IsNullOrWhiteSpace(ports) && !builder.Configuration.GetSection("Kestrel:Endpoints").Exists())
        {
            builder.WebHost.UseUrls(url);
        }
    }

    /// <summary>The .NET switch that makes file providers poll the files they watch rather than watch folders.</summary>
    public const string PollingFileWatcherVariable = "DOTNET_USE_POLLING_FILE_WATCHER";

    /// <summary>
    /// Has the configuration files (<c>appsettings*.json</c>, reloaded on change) polled every 4 s rather than watched by a
    /// file system watcher on the content root, unless <see cref="PollingFileWatcherVariable"/> is set (<c>false</c> brings
    /// the watcher back). The default database (<c>data/fitservice.db</c>, <c>/app/data</c> in the image) lies under the
    /// content root, so every write of SQLite's WAL woke the watcher: ~8 % of an embedded process's CPU when fits arrive
    /// one POST each (docs/throughput.md). A changed <c>appsettings.json</c> is still reloaded, within 4 s.
    /// </summary>
    public static void PollConfigurationFiles()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(PollingFileWatcherVariable))) Environment.SetEnvironmentVariable(PollingFileWatcherVariable, "true");
    }

    public static bool ApiEnabled(this WebApplication app) => app.Services.GetRequiredService<IOptions<ApiOptions>>().Value.Enabled;
}
