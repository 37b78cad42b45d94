using Microsoft.Extensions.Options;

namespace FitService.Api.Extensions;

public static class HostingExtensions
{
    /// <summary>Listens on <paramref name="url"/> unless <c>--urls</c>, <c>ASPNETCORE_URLS</c> or Kestrel configuration say otherwise.</summary>
    public static void UseDefaultUrl(this WebApplicationBuilder builder, string url)
    {
        var configured = builder.Configuration[WebHostDefaults.ServerUrlsKey];
        if (string.IsNullOrEmpty(configured) && !builder.Configuration.GetSection("Kestrel:Endpoints").Exists())
        {
            builder.WebHost.UseUrls(url);
        }
    }

    public static bool ApiEnabled(this WebApplication app) => app.Services.GetRequiredService<IOptions<ApiOptions>>().Value.Enabled;
}
