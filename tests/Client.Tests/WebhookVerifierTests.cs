using System.Security.Cryptography;
using System.Text;
using FitService.Client.Webhooks;

namespace FitService.Client.Tests;

/// <summary>The verifier's rules on hand-made messages; <see cref="LiveServiceTests"/> checks it on the service's real webhooks.</summary>
public class WebhookVerifierTests
{
    private static readonly byte[] Key = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    private static readonly string Secret = "whsec_" + Convert.ToBase64String(Key);
    private static readonly DateTimeOffset Now = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"type":"fit.succeeded"}""");

    private static string Sign(byte[] key, string id, long timestamp, byte[] body) =>
        "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{id}.{timestamp}.").Concat(body).ToArray()));

    private static Func<string, string?> Headers(string? id, string? timestamp, string? signature) => name => name switch
    {
        WebhookVerifier.IdHeader => id,
        WebhookVerifier.TimestampHeader => timestamp,
        WebhookVerifier.SignatureHeader => signature,
        _ => null,
    };

    private static readonly WebhookVerifier Verifier = new(Secret, clock: new FixedClock(Now));

    [Fact]
    public void AnyOfSeveralSignaturesMayMatchAndOtherVersionsAreSkipped()
    {
        var ts = Now.ToUnixTimeSeconds();
        var valid = Sign(Key, "msg_1", ts, Body);
        var other = Sign(new byte[32], "msg_1", ts, Body);
        Assert.True(Verifier.IsValid(Body, Headers("msg_1", ts.ToString(), $"v2,abc {other} {valid}")));
        Assert.False(Verifier.IsValid(Body, Headers("msg_1", ts.ToString(), other)));
    }

    [Fact]
    public void TheIdAndTimestampAreSignedToo()
    {
        var ts = Now.ToUnixTimeSeconds();
        var signature = Sign(Key, "msg_1", ts, Body);
        Assert.False(Verifier.IsValid(Body, Headers("msg_2", ts.ToString(), signature)));
        Assert.False(Verifier.IsValid(Body, Headers("msg_1", (ts - 1).ToString(), signature)));
    }

    [Theory]
    [InlineData(-301, false)]
    [InlineData(-300, true)]
    [InlineData(300, true)]
    [InlineData(301, false)]
    public void TheTimestampMustBeWithinTheToleranceEitherWay(int offsetSeconds, bool accepted)
    {
        var ts = Now.ToUnixTimeSeconds() + offsetSeconds;
        Assert.Equal(accepted, Verifier.IsValid(Body, Headers("msg_1", ts.ToString(), Sign(Key, "msg_1", ts, Body))));
    }

    [Theory]
    [InlineData(null, "1", "v1,x")]
    [InlineData("msg_1", null, "v1,x")]
    [InlineData("msg_1", "1", null)]
    [InlineData("msg_1", "soon", "v1,x")]
    [InlineData("msg_1", "1", "v1,not base64!")]
    public void MissingOrMalformedHeadersAreRejected(string? id, string? timestamp, string? signature)
    {
        Assert.Throws<WebhookVerificationException>(() => new WebhookVerifier(Secret, clock: new FixedClock(DateTimeOffset.FromUnixTimeSeconds(1))).Verify(Body, Headers(id, timestamp, signature)));
    }

    [Fact]
    public void DuringARotationEitherSecretVerifies()
    {
        var ts = Now.ToUnixTimeSeconds();
        var oldKey = new byte[32];
        var verifier = new WebhookVerifier([Secret, "whsec_" + Convert.ToBase64String(oldKey)], clock: new FixedClock(Now));
        Assert.True(verifier.IsValid(Body, Headers("msg_1", ts.ToString(), Sign(oldKey, "msg_1", ts, Body))));
    }

    [Fact]
    public void ASecretThatIsNotBase64IsRefusedAtOnce()
    {
        Assert.Throws<ArgumentException>(() => new WebhookVerifier("whsec_not base64!"));
    }
}
