using System.Security.Cryptography;
using System.Text;

namespace FitService.Api.Webhooks;

/// <summary>
/// Signatures as the Standard Webhooks specification defines them: <c>v1,</c> + base64 HMAC-SHA256 over
/// <c>{id}.{timestamp}.{body}</c>, keyed with the base64-decoded part of a <c>whsec_…</c> secret.
/// </summary>
public static class WebhookSigner
{
    public const string Prefix = "whsec_";
    public const int MinKeyBytes = 24;

    /// <summary>The key of a <c>whsec_</c> secret, or null when it is not one (or too short).</summary>
    public static byte[]? TryDecode(string? secret)
    {
        if (secret is null || !secret.StartsWith(Prefix, StringComparison.Ordinal)) return null;
        try
        {
            var key = Convert.FromBase64String(secret[Prefix.Length..]);
            return key.Length >= MinKeyBytes ? key : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>A fresh secret: <c>whsec_</c> + base64 of 32 random bytes.</summary>
    public static string NewSecret() => Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>One <c>v1,…</c> signature.</summary>
    public static string Sign(byte[] key, string messageId, long timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes($"{messageId}.{timestamp}.");
        var content = new byte[prefix.Length + body.Length];
        prefix.CopyTo(content, 0);
        body.CopyTo(content.AsSpan(prefix.Length));
        return "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, content));
    }

    /// <summary>The <c>webhook-signature</c> header: one signature per key, space-separated (as the specification allows during rotation).</summary>
    public static string Header(IEnumerable<byte[]> keys, string messageId, long timestamp, ReadOnlySpan<byte> body)
    {
        var signatures = new List<string>();
        foreach (var key in keys) signatures.Add(Sign(key, messageId, timestamp, body));
        return string.Join(' ', signatures);
    }

    /// <summary>What a receiver does: true when any signature in the header matches (compared in constant time).</summary>
    public static bool Verify(string secret, string messageId, long timestamp, ReadOnlySpan<byte> body, string signatureHeader)
    {
        var key = TryDecode(secret) ?? throw new ArgumentException("not a whsec_ secret", nameof(secret));
        var expected = Encoding.ASCII.GetBytes(Sign(key, messageId, timestamp, body));
        foreach (var candidate in signatureHeader.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(candidate))) return true;
        }
        return false;
    }
}
