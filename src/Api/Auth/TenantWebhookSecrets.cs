using FitService.Api.Webhooks;
using Microsoft.Extensions.Options;

namespace FitService.Api.Auth;

/// <summary>
/// A tenant's webhook signing keys: the <c>Auth:Keys:n:WebhookSecret</c> of its keys (in configuration order, the first
/// current, the others accepted during a rotation); a tenant without one, and the local mode, use <c>Webhooks:SigningSecret</c>.
/// </summary>
public sealed class TenantWebhookSecrets(IOptions<AuthOptions> auth, IOptions<WebhookOptions> webhooks) : IWebhookSecrets
{
    private readonly ConfiguredWebhookSecrets _shared = new(webhooks);

    private readonly Dictionary<string, byte[][]> _perTenant = auth.Value.Keys
        .Where(k => !string.IsNullOrWhiteSpace(k.WebhookSecret))
        .GroupBy(k => k.Tenant, StringComparer.Ordinal)
        .ToDictionary(g => g.Key, g => g.Select(k => k.WebhookSecret).Distinct().Select(WebhookSigner.TryDecode).OfType<byte[]>().ToArray(), StringComparer.Ordinal);

    public IReadOnlyList<byte[]> KeysFor(string tenant) =>
        _perTenant.TryGetValue(tenant, out var keys) && keys.Length > 0 ? keys : _shared.KeysFor(tenant);
}
