using System.Net;
using FitService.Api.Auth;

namespace FitService.Api.Security;

/// <summary>
/// Without keys every caller is the anonymous tenant, which is safe only if nobody but this machine can call: the
/// local mode listens on loopback only, and refuses to start on any other address.
/// </summary>
public static class LocalMode
{
    /// <summary>Why the service must not start as configured, or null when it may.</summary>
    public static string? RefusalReason(IConfiguration configuration)
    {
        var auth = configuration.GetSection(AuthOptions.Section).Get<AuthOptions>() ?? new AuthOptions();
        if (!auth.IsLocalMode) return null;

        var urls = (configuration[WebHostDefaults.ServerUrlsKey] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Concat(configuration.GetSection("Kestrel:Endpoints").GetChildren().Select(e => e["Url"]).OfType<string>());
        var exposed = urls.Where(u => !IsLoopback(u)).ToList();
        // HTTP_PORTS binds every address, and applies only when no URL is given.
        if (string.IsNullOrWhiteSpace(configuration[WebHostDefaults.ServerUrlsKey]))
        {
            foreach (var key in new[] { WebHostDefaults.HttpPortsKey, WebHostDefaults.HttpsPortsKey })
            {
                if (!string.IsNullOrWhiteSpace(configuration[key])) exposed.Add($"ASPNETCORE_{key.ToUpperInvariant()}={configuration[key]} (all addresses)");
            }
        }
        return exposed.Count == 0 ? null
            : $"No API key is configured (Auth:Keys), so every caller would be anonymous; the service then listens on loopback only, " +
              $"but it was asked to listen on {string.Join(", ", exposed)}. Configure keys (create one with: keys new --tenant NAME) " +
              "or listen on 127.0.0.1, [::1] or localhost.";
    }

    public static bool IsLoopback(string url)
    {
        var rest = url.Contains("://", StringComparison.Ordinal) ? url[(url.IndexOf("://", StringComparison.Ordinal) + 3)..] : url;
        var host = rest.StartsWith('[') ? rest[..(rest.IndexOf(']') + 1)] : rest.Split(':', '/')[0];
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) return true;
        return IPAddress.TryParse(host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address);
    }
}
