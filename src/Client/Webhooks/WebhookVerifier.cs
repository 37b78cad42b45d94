using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace FitService.Client.Webhooks;

/// <summary>
/// Verifies FitService's webhooks as the Standard Webhooks specification defines them: the <c>webhook-signature</c> header holds
/// one or more space-separated <c>v1,&lt;base64&gt;</c> signatures, each an HMAC-SHA256 over <c>{webhook-id}.{webhook-timestamp}.{body}</c>
/// keyed with the base64 part of a <c>whsec_…</c> secret. A message is genuine when any signature matches (compared in constant
/// time) and its timestamp is within <see cref="Tolerance"/> of now (which stops replays of old messages).
/// </summary>
public sealed class WebhookVerifier
{
    /// <summary>The message's id: the same on every attempt to deliver it, so a receiver can drop repeats.</summary>
    public const string IdHeader = "webhook-id";

    /// <summary>When the attempt was signed, in Unix seconds.</summary>
    public const string TimestampHeader = "webhook-timestamp";

    /// <summary>The signatures: <c>v1,&lt;base64&gt;</c>, space-separated.</summary>
    public const string SignatureHeader = "webhook-signature";

    /// <summary>The specification's suggested tolerance.</summary>
    public static readonly TimeSpan DefaultTolerance = TimeSpan.FromMinutes(5);

    private const string SecretPrefix = "whsec_";
    private readonly byte[][] _keys;
    private readonly TimeProvider _clock;

    /// <summary>A verifier for <paramref name="secret"/> (<c>whsec_</c> + base64), the one the service signs with.</summary>
    /// <param name="secret">The signing secret.</param>
    /// <param name="tolerance">How far a message's timestamp may be from now, either way; default 5 minutes.</param>
    /// <param name="clock">Now; the system clock by default (tests pass a fake one).</param>
    public WebhookVerifier(string secret, TimeSpan? tolerance = null, TimeProvider? clock = null) : this([secret], tolerance, clock) { }

    /// <summary>A verifier that accepts a signature by any of <paramref name="secrets"/> (while a secret is being rotated).</summary>
    public WebhookVerifier(IEnumerable<string> secrets, TimeSpan? tolerance = null, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        _keys = secrets.Select(Decode).ToArray();
        if (_keys.Length == 0) throw new ArgumentException("At least one secret is needed.", nameof(secrets));
        Tolerance = tolerance ?? DefaultTolerance;
        if (Tolerance < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(tolerance), "must not be negative");
        _clock = clock ?? TimeProvider.System;
    }

    /// <summary>How far a timestamp may be from now, either way.</summary>
    public TimeSpan Tolerance { get; }

    /// <summary>Throws <see cref="WebhookVerificationException"/> unless the message is genuine and recent.</summary>
    /// <param name="body">The request body exactly as received (the signature covers its bytes).</param>
    /// <param name="header">Reads a request header by name (e.g. <c>name =&gt; request.Headers[name]</c>).</param>
    public void Verify(ReadOnlySpan<byte> body, Func<string, string?> header)
    {
        ArgumentNullException.ThrowIfNull(header);
        Verify(header(IdHeader), header(TimestampHeader), header(SignatureHeader), body);
    }

    /// <summary>Throws <see cref="WebhookVerificationException"/> unless the message is genuine and recent.</summary>
    public void Verify(string? webhookId, string? webhookTimestamp, string? webhookSignature, ReadOnlySpan<byte> body)
    {
        if (string.IsNullOrEmpty(webhookId) || string.IsNullOrEmpty(webhookTimestamp) || string.IsNullOrEmpty(webhookSignature))
            throw new WebhookVerificationException($"Missing {IdHeader}, {TimestampHeader} or {SignatureHeader} header.");
        if (!long.TryParse(webhookTimestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
            throw new WebhookVerificationException($"{TimestampHeader} is not a Unix time in seconds.");
        var now = _clock.GetUtcNow().ToUnixTimeSeconds();
        if (Math.Abs(now - seconds) > (long)Tolerance.TotalSeconds)
            throw new WebhookVerificationException($"{TimestampHeader} is {now - seconds} s from now; at most {Tolerance.TotalSeconds:0} s is accepted.");

        var signed = Encoding.UTF8.GetBytes($"{webhookId}.{webhookTimestamp}.");
        var content = new byte[signed.Length + body.Length];
        signed.CopyTo(content, 0);
        body.CopyTo(content.AsSpan(signed.Length));
        foreach (var key in _keys)
        {
            var expected = HMACSHA256.HashData(key, content);
            foreach (var candidate in webhookSignature.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                // Other versions than v1 may appear beside it; they are skipped, not failed
                if (!candidate.StartsWith("v1,", StringComparison.Ordinal)) continue;
                var received = new byte[expected.Length];
                if (Convert.TryFromBase64String(candidate[3..], received, out var length) && length == expected.Length
                    && CryptographicOperations.FixedTimeEquals(expected, received))
                    return;
            }
        }
        throw new WebhookVerificationException("No signature matches.");
    }

    /// <summary>True when the message is genuine and recent; <see cref="Verify(ReadOnlySpan{byte}, Func{string, string?})"/> says why not.</summary>
    public bool IsValid(ReadOnlySpan<byte> body, Func<string, string?> header)
    {
        try
        {
            Verify(body, header);
            return true;
        }
        catch (WebhookVerificationException)
        {
            return false;
        }
    }

    private static byte[] Decode(string secret)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        var text = secret.StartsWith(SecretPrefix, StringComparison.Ordinal) ? secret[SecretPrefix.Length..] : secret;
        try
        {
            return Convert.FromBase64String(text);
        }
        catch (FormatException e)
        {
            throw new ArgumentException("A webhook secret is whsec_ followed by base64.", nameof(secret), e);
        }
    }
}

/// <summary>A webhook that is not FitService's, was altered, or is too old.</summary>
public sealed class WebhookVerificationException(string message) : Exception(message);
