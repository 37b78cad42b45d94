using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace FitService.Api.Auth;

/// <summary>What a presented key turned out to be.</summary>
public readonly record struct KeyMatch(string? Tenant, bool IsAdmin)
{
    public bool Found => Tenant is not null || IsAdmin;
}

/// <summary>
/// The configured key hashes, and the constant-time lookup of a presented key: it is hashed once and compared with
/// every configured hash (no early exit), so the time taken says nothing about which key, or how much of one, matched.
/// </summary>
public sealed class ApiKeys
{
    public const string Prefix = "fs_";

    private readonly (byte[] Hash, string Tenant)[] _keys;
    private readonly byte[][] _adminKeys;

    public ApiKeys(IOptions<AuthOptions> options)
    {
        var auth = options.Value;
        _keys = auth.Keys.Select((k, i) => (ParseHash(k.Hash, $"Auth:Keys:{i}:Hash"), RequireTenant(k.Tenant, i))).ToArray();
        _adminKeys = auth.AdminKeys.Select((h, i) => ParseHash(h, $"Auth:AdminKeys:{i}")).ToArray();
        IsLocalMode = auth.IsLocalMode;
    }

    public bool IsLocalMode { get; }

    public bool HasAdminKeys => _adminKeys.Length > 0;

    public KeyMatch Find(string presentedKey)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(presentedKey), hash);
        string? tenant = null;
        foreach (var (candidate, owner) in _keys)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, candidate)) tenant ??= owner;
        }
        var admin = false;
        foreach (var candidate in _adminKeys) admin |= CryptographicOperations.FixedTimeEquals(hash, candidate);
        return new KeyMatch(tenant, admin);
    }

    /// <summary>A new key (32 random bytes, base64url, prefixed) and the hash to configure for it.</summary>
    public static (string Key, string Hash) Generate()
    {
        var key = Prefix + Base64Url(RandomNumberGenerator.GetBytes(32));
        return (key, HashOf(key));
    }

    public static string HashOf(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] ParseHash(string? hex, string key)
    {
        if (hex is not { Length: SHA256.HashSizeInBytes * 2 } || !hex.All(Uri.IsHexDigit))
            throw new OptionsValidationException(AuthOptions.Section, typeof(AuthOptions),
                [$"{key} must be the 64-character hex SHA-256 of a key (create one with: keys new --tenant NAME)."]);
        return Convert.FromHexString(hex);
    }

    private static string RequireTenant(string? tenant, int index) => string.IsNullOrWhiteSpace(tenant)
        ? throw new OptionsValidationException(AuthOptions.Section, typeof(AuthOptions), [$"Auth:Keys:{index}:Tenant is required."])
        : tenant;
}
