using System.Net;
using System.Net.Sockets;
using FitService.Api.Fits;
using FitService.Api.Storage;
using Microsoft.Extensions.Options;

namespace FitService.Api.Webhooks;

/// <summary>
/// The submission-time check of <c>webhook.url</c>: https unless allowed otherwise, a signing secret to sign with,
/// and a host whose every address passes the address rules. The same rules run again at connect time.
/// </summary>
public sealed class WebhookUrlPolicy(IOptions<WebhookOptions> options, IWebhookSecrets secrets, HostResolver resolve, IConfiguration configuration)
{
    public const string Field = "webhook.url";
    private static readonly TimeSpan ResolveTimeout = TimeSpan.FromSeconds(3);

    private readonly WebhookAllowList _allowList = new(options.Value.AllowedHosts);

    /// <summary>Local mode (no API keys) allows http receivers unless <c>Webhooks:RequireHttps</c> says otherwise.</summary>
    public bool RequireHttps => options.Value.RequireHttps ?? configuration.GetSection("Auth:Keys").Exists();

    public async Task CheckAsync(string tenant, string url, ValidationErrors errors, CancellationToken ct)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            return; // FitValidator has said so already
        }
        if (RequireHttps && uri.Scheme != Uri.UriSchemeHttps)
        {
            errors.Add(Field, "must be an https URL (Webhooks:RequireHttps)");
            return;
        }
        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            errors.Add(Field, "must not carry credentials (user:password@); put a token in the path or query instead");
            return;
        }
        if (secrets.KeysFor(tenant).Count == 0)
        {
            errors.Add(Field, "cannot be signed: the service has no webhook signing secret (Webhooks:SigningSecret)");
            return;
        }

        var host = uri.IdnHost;
        IPAddress[] addresses;
        if (IPAddress.TryParse(host.Trim('[', ']'), out var literal))
        {
            addresses = [literal];
        }
        else
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(ResolveTimeout);
                addresses = await resolve(host, timeout.Token);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException && !ct.IsCancellationRequested)
            {
                errors.Add(Field, $"host '{host}' does not resolve");
                return;
            }
        }
        if (addresses.Length == 0) errors.Add(Field, $"host '{host}' has no addresses");
        foreach (var address in addresses)
        {
            if (_allowList.RefusalReason(host, address) is { } reason) errors.Add(Field, $"is refused: {reason}");
        }
    }
}
