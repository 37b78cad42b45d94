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

    /// <summary>The checks of one URL; see <see cref="CheckAllAsync"/>.</summary>
    public async Task CheckAsync(string tenant, string url, ValidationErrors errors, CancellationToken ct) =>
        errors.AddAll("", (await CheckAllAsync(tenant, [url], ct))[url]);

    /// <summary>
    /// The errors of each distinct URL. Each distinct host is resolved once, and all of them at once (at most
    /// <see cref="MaxConcurrentLookups"/> lookups in flight) within one <see cref="ResolveTimeout"/> in total, so a batch
    /// naming a hundred hosts that never answer costs its request one timeout, not a hundred.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, ValidationErrors>> CheckAllAsync(string tenant, IEnumerable<string> urls, CancellationToken ct)
    {
        var checks = new Dictionary<string, (string? Host, ValidationErrors Errors)>();
        foreach (var url in urls)
        {
            if (checks.ContainsKey(url)) continue;
            var errors = new ValidationErrors();
            checks[url] = (HostToResolve(tenant, url, errors), errors);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(ResolveTimeout);
        using var slots = new SemaphoreSlim(MaxConcurrentLookups);
        var lookups = checks.Values.Select(c => c.Host).OfType<string>().Distinct(StringComparer.OrdinalIgnoreCase)
            .ToDictionary(h => h, h => LookUpAsync(h, slots, timeout.Token), StringComparer.OrdinalIgnoreCase);
        await Task.WhenAll(lookups.Values);
        ct.ThrowIfCancellationRequested();

        var result = new Dictionary<string, ValidationErrors>();
        foreach (var (url, (host, errors)) in checks)
        {
            if (host is not null) Judge(host, await lookups[host], errors);
            result[url] = errors;
        }
        return result;
    }

    /// <summary>Most DNS lookups one request has in flight (each holds a thread-pool thread in getaddrinfo).</summary>
    public const int MaxConcurrentLookups = 16;

    /// <summary>The host to resolve, or null when the URL is settled without one (refused already, or an address literal, judged here).</summary>
    private string? HostToResolve(string tenant, string url, ValidationErrors errors)
    {
        if (!WebhookUrls.TryParse(url, out var uri))
        {
            return null; // WebhookUrls.Validate has said so already
        }
        if (RequireHttps && uri.Scheme != Uri.UriSchemeHttps)
        {
            errors.Add(Field, "must be an https URL (Webhooks:RequireHttps)");
            return null;
        }
        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            errors.Add(Field, "must not carry credentials (user:password@); put a token in the path or query instead");
            return null;
        }
        if (secrets.KeysFor(tenant).Count == 0)
        {
            errors.Add(Field, "cannot be signed: the service has no webhook signing secret (Webhooks:SigningSecret)");
            return null;
        }
        var host = uri.IdnHost;
        if (IPAddress.TryParse(host.Trim('[', ']'), out var literal))
        {
            Judge(host, [literal], errors);
            return null;
        }
        return host;
    }

    /// <summary>The host's addresses, or null when it did not resolve in time.</summary>
    private async Task<IPAddress[]?> LookUpAsync(string host, SemaphoreSlim slots, CancellationToken ct)
    {
        try
        {
            await slots.WaitAsync(ct);
            try
            {
                return await resolve(host, ct).WaitAsync(ct);
            }
            finally
            {
                slots.Release();
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ArgumentException)
        {
            return null;
        }
    }

    private void Judge(string host, IPAddress[]? addresses, ValidationErrors errors)
    {
        if (addresses is null)
        {
            errors.Add(Field, $"host '{host}' does not resolve");
            return;
        }
        if (addresses.Length == 0) errors.Add(Field, $"host '{host}' has no addresses");
        foreach (var address in addresses)
        {
            if (_allowList.RefusalReason(host, address) is { } reason) errors.Add(Field, $"is refused: {reason}");
        }
    }
}
