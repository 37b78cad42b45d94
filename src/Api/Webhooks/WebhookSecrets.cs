using Microsoft.Extensions.Options;

namespace FitService.Api.Webhooks;

/// <summary>The keys that sign a tenant's events, current first. The [security] work adds per-tenant secrets behind this.</summary>
public interface IWebhookSecrets
{
    IReadOnlyList<byte[]> KeysFor(string tenant);
}

/// <summary><c>Webhooks:SigningSecret</c> (and <c>PreviousSigningSecret</c> during a rotation) for every tenant.</summary>
public sealed class ConfiguredWebhookSecrets(IOptions<WebhookOptions> options) : IWebhookSecrets
{
    private readonly byte[][] _keys = new[] { options.Value.SigningSecret, options.Value.PreviousSigningSecret }
        .Select(WebhookSigner.TryDecode).OfType<byte[]>().ToArray();

    public IReadOnlyList<byte[]> KeysFor(string tenant) => _keys;
}
