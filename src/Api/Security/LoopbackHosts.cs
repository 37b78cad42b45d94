using System.Net;
using Microsoft.AspNetCore.Mvc;

namespace FitService.Api.Security;

/// <summary>
/// The local mode's answer to DNS rebinding: a web page whose name the attacker re-points at 127.0.0.1 reaches the
/// service with its own name in <c>Host</c>. Listening on loopback stops other machines, not the browser on this one,
/// so in the local mode only loopback names and addresses are served (<c>localhost</c>, <c>127.0.0.0/8</c>,
/// <c>[::1]</c>, any port); anything else is 421 Misdirected Request problem details.
/// </summary>
public static class LoopbackHosts
{
    public static bool IsLoopback(HostString host)
    {
        if (!host.HasValue) return false;
        var name = host.Host;
        if (name.Equals("localhost", StringComparison.OrdinalIgnoreCase)) return true;
        return name.StartsWith('[') == name.EndsWith(']') && IPAddress.TryParse(name.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address)
               && (name.StartsWith('[') || address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork);
    }

    public static IApplicationBuilder UseLoopbackHostsOnly(this IApplicationBuilder app) => app.Use(async (http, next) =>
    {
        if (IsLoopback(http.Request.Host))
        {
            await next(http);
            return;
        }
        await http.WriteProblemAsync(StatusCodes.Status421MisdirectedRequest, "Host not served",
            "Without API keys (local mode) the service answers only requests addressed to localhost, 127.0.0.1 or [::1] " +
            "(the Host header); configure keys to serve other names.");
    });
}
