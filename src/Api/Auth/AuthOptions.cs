namespace FitService.Api.Auth;

/// <summary>API keys (<c>Auth:*</c>). Keys are stored only as lowercase hex SHA-256 hashes; no keys at all is the anonymous local mode.</summary>
public sealed class AuthOptions
{
    public const string Section = "Auth";

    /// <summary>Client keys, each belonging to a tenant (<c>Auth:Keys:n:Tenant</c>, <c>Auth:Keys:n:Hash</c>, <c>Auth:Keys:n:WebhookSecret</c>).</summary>
    public List<ApiKeyOptions> Keys { get; set; } = [];

    /// <summary>Hashes of admin keys (<c>Auth:AdminKeys:n</c>): they open the Hangfire dashboard, and nothing under <c>/v1</c>.</summary>
    public List<string> AdminKeys { get; set; } = [];

    /// <summary>No key configured: every request is the anonymous tenant, and the service listens on loopback only.</summary>
    public bool IsLocalMode => Keys.Count == 0 && AdminKeys.Count == 0;
}

public sealed class ApiKeyOptions
{
    public string Tenant { get; set; } = "";

    /// <summary>Lowercase hex SHA-256 of the key's UTF-8 bytes.</summary>
    public string Hash { get; set; } = "";

    /// <summary>The tenant's webhook signing secret (<c>whsec_…</c>), used by the webhooks feature.</summary>
    public string? WebhookSecret { get; set; }
}
