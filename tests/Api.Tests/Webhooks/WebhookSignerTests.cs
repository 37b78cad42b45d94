using System.Text;
using FitService.Api.Webhooks;

namespace FitService.Api.Tests.Webhooks;

public sealed class WebhookSignerTests
{
    // The Standard Webhooks specification's published test vector (also in its reference libraries' tests).
    private const string SpecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private const string SpecId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    private const long SpecTimestamp = 1614265330;
    private const string SpecBody = "{\"test\": 2432232314}";
    private const string SpecSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    [Fact]
    public void SignsTheSpecificationTestVectorExactly()
    {
        var key = WebhookSigner.TryDecode(SpecSecret)!;

        Assert.Equal(SpecSignature, WebhookSigner.Sign(key, SpecId, SpecTimestamp, Encoding.UTF8.GetBytes(SpecBody)));
    }

    [Fact]
    public void VerifiesTheTestVectorAndRejectsAnyChange()
    {
        var body = Encoding.UTF8.GetBytes(SpecBody);

        Assert.True(WebhookSigner.Verify(SpecSecret, SpecId, SpecTimestamp, body, SpecSignature));
        Assert.False(WebhookSigner.Verify(SpecSecret, SpecId, SpecTimestamp + 1, body, SpecSignature));
        Assert.False(WebhookSigner.Verify(SpecSecret, "msg_other", SpecTimestamp, body, SpecSignature));
        Assert.False(WebhookSigner.Verify(SpecSecret, SpecId, SpecTimestamp, Encoding.UTF8.GetBytes("{\"test\": 2432232315}"), SpecSignature));
    }

    [Fact]
    public void DuringRotationBothSecretsSignAndEitherVerifies()
    {
        var next = WebhookSigner.NewSecret();
        var body = Encoding.UTF8.GetBytes(SpecBody);
        var header = WebhookSigner.Header([WebhookSigner.TryDecode(next)!, WebhookSigner.TryDecode(SpecSecret)!], SpecId, SpecTimestamp, body);

        var parts = header.Split(' ');
        Assert.Equal(2, parts.Length);
        Assert.Equal(SpecSignature, parts[1]);
        Assert.True(WebhookSigner.Verify(next, SpecId, SpecTimestamp, body, header));
        Assert.True(WebhookSigner.Verify(SpecSecret, SpecId, SpecTimestamp, body, header));
        Assert.False(WebhookSigner.Verify(WebhookSigner.NewSecret(), SpecId, SpecTimestamp, body, header));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]       // no whsec_ prefix
    [InlineData("whsec_not base64!")]
    [InlineData("whsec_c2hvcnQ=")]                          // 5 bytes: too short to be a key
    [InlineData("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==")]  // 22 bytes
    public void SecretsMustBeWhsecAndBase64OfAtLeast24Bytes(string? secret) => Assert.Null(WebhookSigner.TryDecode(secret));

    [Fact]
    public void NewSecretsAreValidAndDifferent()
    {
        var a = WebhookSigner.NewSecret();
        Assert.Equal(32, WebhookSigner.TryDecode(a)!.Length);
        Assert.NotEqual(a, WebhookSigner.NewSecret());
    }
}
