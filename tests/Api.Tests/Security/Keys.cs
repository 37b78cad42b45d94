using FitService.Api.Auth;

namespace FitService.Api.Tests.Security;

/// <summary>Fixed test keys and the configuration that accepts them.</summary>
public static class Keys
{
    public const string Acme = "fs_acme-test-key", Globex = "fs_globex-test-key", Admin = "fs_admin-test-key";

    public static (string Key, string? Value)[] Configured(params (string Key, string? Value)[] more) =>
    [
        ("Auth:Keys:0:Tenant", "acme"), ("Auth:Keys:0:Hash", ApiKeys.HashOf(Acme)),
        ("Auth:Keys:1:Tenant", "globex"), ("Auth:Keys:1:Hash", ApiKeys.HashOf(Globex)),
        ("Auth:AdminKeys:0", ApiKeys.HashOf(Admin)),
        .. more,
    ];

    public static HttpClient WithKey(this HttpClient client, string key)
    {
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        return client;
    }
}
