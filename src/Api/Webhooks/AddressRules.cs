using System.Net;
using System.Net.Sockets;
using IPNetwork = System.Net.IPNetwork;

namespace FitService.Api.Webhooks;

/// <summary>
/// Which addresses a webhook may reach: only public unicast ones. A pure function of the address, so it is tested
/// over a table; <see cref="WebhookAllowList"/> adds the exceptions a deployment configures.
/// </summary>
public static class AddressRules
{
    private static readonly (IPNetwork Range, string Reason)[] Refused4 =
    [
        (Net("0.0.0.0/8"), "unspecified ('this network')"),
        (Net("10.0.0.0/8"), "private (RFC 1918)"),
        (Net("100.64.0.0/10"), "shared address space (CGNAT)"),
        (Net("127.0.0.0/8"), "loopback"),
        (Net("169.254.0.0/16"), "link-local (cloud metadata lives here)"),
        (Net("172.16.0.0/12"), "private (RFC 1918)"),
        (Net("192.0.0.0/24"), "IETF protocol assignments"),
        (Net("192.0.2.0/24"), "documentation (TEST-NET-1)"),
        (Net("192.88.99.0/24"), "6to4 relay anycast"),
        (Net("192.168.0.0/16"), "private (RFC 1918)"),
        (Net("198.18.0.0/15"), "benchmarking"),
        (Net("198.51.100.0/24"), "documentation (TEST-NET-2)"),
        (Net("203.0.113.0/24"), "documentation (TEST-NET-3)"),
        (Net("224.0.0.0/4"), "multicast"),
        (Net("240.0.0.0/4"), "reserved (and broadcast)"),
    ];

    private static readonly (IPNetwork Range, string Reason)[] Refused6 =
    [
        (Net("::/128"), "unspecified"),
        (Net("::1/128"), "loopback"),
        (Net("::/96"), "IPv4-compatible (deprecated)"),
        (Net("100::/64"), "discard-only"),
        (Net("2001:db8::/32"), "documentation"),
        (Net("2001::/32"), "Teredo tunnel"),
        (Net("fc00::/7"), "unique local (ULA)"),
        (Net("fe80::/10"), "link-local"),
        (Net("fec0::/10"), "site-local (deprecated)"),
        (Net("ff00::/8"), "multicast"),
    ];

    private static readonly IPNetwork Nat64 = Net("64:ff9b::/96");
    private static readonly IPNetwork SixToFour = Net("2002::/16");

    /// <summary>Null when a webhook may connect to <paramref name="address"/>, else why not.</summary>
    public static string? RefusalReason(IPAddress address)
    {
        // An IPv6 form that carries an IPv4 address is judged by that address: ::ffff:127.0.0.1 is loopback.
        if (address.IsIPv4MappedToIPv6) return Prefixed("IPv4-mapped ", RefusalReason(address.MapToIPv4()));
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            foreach (var (range, reason) in Refused4) if (range.Contains(address)) return reason;
            return null;
        }
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return "not an IP address";
        if (Nat64.Contains(address)) return Prefixed("NAT64 of ", RefusalReason(new IPAddress(address.GetAddressBytes()[12..])));
        if (SixToFour.Contains(address)) return Prefixed("6to4 of ", RefusalReason(new IPAddress(address.GetAddressBytes()[2..6])));
        foreach (var (range, reason) in Refused6) if (range.Contains(address)) return reason;
        return null;
    }

    private static string? Prefixed(string prefix, string? reason) => reason is null ? null : prefix + reason;

    private static IPNetwork Net(string cidr) => IPNetwork.Parse(cidr);
}

/// <summary><c>Webhooks:AllowedHosts</c>: exact host names, addresses and CIDR ranges that may be reached although internal.</summary>
public sealed class WebhookAllowList
{
    private readonly HashSet<string> _hosts = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<IPNetwork> _ranges = [];

    public WebhookAllowList(IEnumerable<string>? entries)
    {
        foreach (var raw in entries ?? [])
        {
            var entry = raw.Trim();
            if (entry.Length == 0) continue;
            if (IPNetwork.TryParse(entry, out var range)) _ranges.Add(range);
            else if (IPAddress.TryParse(entry.Trim('[', ']'), out var single)) _ranges.Add(new IPNetwork(single, single.AddressFamily == AddressFamily.InterNetwork ? 32 : 128));
            else _hosts.Add(entry.TrimEnd('.'));
        }
    }

    /// <summary>Null when <paramref name="address"/> (reached as <paramref name="host"/>) may be connected to, else why not.</summary>
    public string? RefusalReason(string host, IPAddress address)
    {
        if (_hosts.Contains(host.TrimEnd('.'))) return null;
        var reason = AddressRules.RefusalReason(address);
        if (reason is null) return null;
        var plain = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        foreach (var range in _ranges) if (range.Contains(plain) || range.Contains(address)) return null;
        return $"{address} is {reason}; add it to Webhooks:AllowedHosts to allow it";
    }
}
