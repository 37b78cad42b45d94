using FitService.Api.Auth;
using FitService.Api.Webhooks;
using Microsoft.Extensions.Options;

namespace FitService.Api.Tests.Security;

public sealed class TenantWebhookSecretsTests
{
    private static string Secret(byte fill) => "whsec_" + Convert.ToBase64String(Enumerable.Repeat(fill, 32).ToArray());

    [Fact]
    public void EachTenantSignsWithItsOwnSecretAndOthersWithTheSharedOne()
    {
        var auth = new AuthOptions
        {
            Keys =
            [
                new ApiKeyOptions { Tenant = "acme", Hash = new string('a', 64), WebhookSecret = Secret(1) },
                new ApiKeyOptions { Tenant = "acme", Hash = new string('b', 64), WebhookSecret = Secret(2) },
                new ApiKeyOptions { Tenant = "globex", Hash = new string('c', 64) },
            ],
        };
        var secrets = new TenantWebhookSecrets(Options.Create(auth), Options.Create(new WebhookOptions { SigningSecret = Secret(9) }));

        Assert.Equal([Enumerable.Repeat((byte)1, 32).ToArray(), Enumerable.Repeat((byte)2, 32).ToArray()], secrets.KeysFor("acme"));
        Assert.Equal([Enumerable.Repeat((byte)9, 32).ToArray()], secrets.KeysFor("globex"));
        Assert.Equal([Enumerable.Repeat((byte)9, 32).ToArray()], secrets.KeysFor(""));
    }
}
