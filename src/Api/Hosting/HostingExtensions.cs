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

    public static bool ApiEnabled(this WebApplication app) => app.Services.GetRequiredService<IOptions<ApiOptions>>().Value.Enabled;
}
