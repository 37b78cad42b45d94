using System.Net;
using FitService.Api.Webhooks;

namespace FitService.Api.Tests.Webhooks;

/// <summary>The address rules as a table. Pure: nothing here sends a packet anywhere.</summary>
public sealed class AddressRulesTests
{
    [Theory]
    [InlineData("127.0.0.1", "loopback")]
    [InlineData("127.8.9.10", "loopback")]
    [InlineData("::1", "loopback")]
    [InlineData("10.0.0.1", "private")]
    [InlineData("10.255.255.255", "private")]
    [InlineData("172.16.0.1", "private")]
    [InlineData("172.20.10.5", "private")]
    [InlineData("172.31.255.254", "private")]
    [InlineData("192.168.0.1", "private")]
    [InlineData("192.168.255.255", "private")]
    [InlineData("169.254.169.254", "link-local")]
    [InlineData("169.254.0.1", "link-local")]
    [InlineData("100.64.0.1", "CGNAT")]
    [InlineData("100.127.255.254", "CGNAT")]
    [InlineData("224.0.0.1", "multicast")]
    [InlineData("239.255.255.250", "multicast")]
    [InlineData("0.0.0.0", "unspecified")]
    [InlineData("0.1.2.3", "unspecified")]
    [InlineData("255.255.255.255", "reserved")]
    [InlineData("240.0.0.1", "reserved")]
    [InlineData("192.0.2.10", "documentation")]
    [InlineData("198.18.0.1", "benchmarking")]
    [InlineData("::", "unspecified")]
    [InlineData("::ffff:127.0.0.1", "IPv4-mapped loopback")]
    [InlineData("::ffff:10.0.0.1", "IPv4-mapped private")]
    [InlineData("::ffff:169.254.169.254", "IPv4-mapped link-local")]
    [InlineData("::127.0.0.1", "IPv4-compatible")]
    [InlineData("fc00::1", "unique local")]
    [InlineData("fd12:3456:789a::1", "unique local")]
    [InlineData("fe80::1", "link-local")]
    [InlineData("febf:ffff::1", "link-local")]
    [InlineData("ff02::1", "multicast")]
    [InlineData("ff0e::101", "multicast")]
    [InlineData("2001:db8::1", "documentation")]
    [InlineData("64:ff9b::a9fe:a9fe", "NAT64 of link-local")]
    [InlineData("64:ff9b::7f00:1", "NAT64 of loopback")]
    [InlineData("2002:a00:1::1", "6to4 of private")]
    [InlineData("2002:7f00:1::1", "6to4 of loopback")]
    public void InternalAddressesAreRefusedWithTheReason(string address, string reason)
    {
        var refusal = AddressRules.RefusalReason(IPAddress.Parse(address));

        Assert.NotNull(refusal);
        Assert.Contains(reason, refusal);
    }

    [Theory]
    [InlineData("93.184.216.34")]
    [InlineData("8.8.8.8")]
    [InlineData("1.1.1.1")]
    [InlineData("172.15.255.255")]   // just below 172.16/12
    [InlineData("172.32.0.1")]       // just above it
    [InlineData("100.63.255.255")]   // just below CGNAT
    [InlineData("100.128.0.1")]      // just above it
    [InlineData("169.253.255.255")]
    [InlineData("11.0.0.1")]
    [InlineData("223.255.255.254")]
    [InlineData("2606:2800::1")]
    [InlineData("2a00:1450:4001:800::200e")]
    [InlineData("::ffff:93.184.216.34")]   // mapped public: judged as the IPv4 address it is
    [InlineData("64:ff9b::5db8:d822")]      // NAT64 of 93.184.216.34
    public void PublicAddressesAreAllowed(string address) => Assert.Null(AddressRules.RefusalReason(IPAddress.Parse(address)));

    [Fact]
    public void TheAllowListTakesAddressesRangesAndHostNames()
    {
        var allow = new WebhookAllowList(["127.0.0.1", "10.20.0.0/16", "receiver.internal", "[::1]", " "]);

        Assert.Null(allow.RefusalReason("127.0.0.1", IPAddress.Parse("127.0.0.1")));
        Assert.Null(allow.RefusalReason("127.0.0.1", IPAddress.Parse("::ffff:127.0.0.1")));
        Assert.Null(allow.RefusalReason("::1", IPAddress.Parse("::1")));
        Assert.Null(allow.RefusalReason("10.20.3.4", IPAddress.Parse("10.20.3.4")));
        Assert.Null(allow.RefusalReason("RECEIVER.internal.", IPAddress.Parse("10.9.9.9")));
        Assert.Null(allow.RefusalReason("public.example", IPAddress.Parse("93.184.216.34")));

        Assert.Contains("loopback", allow.RefusalReason("127.0.0.2", IPAddress.Parse("127.0.0.2")));
        Assert.Contains("private", allow.RefusalReason("10.21.0.1", IPAddress.Parse("10.21.0.1")));
        Assert.Contains("Webhooks:AllowedHosts", allow.RefusalReason("other.internal", IPAddress.Parse("10.9.9.9")));
    }

    [Fact]
    public void AnEmptyAllowListAllowsOnlyPublicAddresses()
    {
        var allow = new WebhookAllowList(null);

        Assert.NotNull(allow.RefusalReason("localhost", IPAddress.Loopback));
        Assert.NotNull(allow.RefusalReason("metadata", IPAddress.Parse("169.254.169.254")));
        Assert.Null(allow.RefusalReason("example.com", IPAddress.Parse("93.184.216.34")));
    }
}
