using System.Net;
using FitService.Api.Webhooks;
using Microsoft.Extensions.Options;

namespace FitService.Api.Tests.Webhooks;

/// <summary>The connect-time guard and the sender's limits, against a loopback receiver; other addresses are refused before any packet leaves.</summary>
public sealed class WebhookSenderTests : IAsyncLifetime
{
    private LoopbackReceiver _receiver = null!;

    public async Task InitializeAsync() => _receiver = await LoopbackReceiver.StartAsync();

    public async Task DisposeAsync() => await _receiver.DisposeAsync();

    /// <summary>A generous timeout: a loaded machine's receiver may take seconds to answer, and only the timeout test wants one.</summary>
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    private static WebhookSender Sender(HostResolver resolve, params string[] allowed) => Sender(resolve, Generous, allowed);

    private static WebhookSender Sender(HostResolver resolve, TimeSpan timeout, params string[] allowed) =>
        new(Options.Create(new WebhookOptions { AllowedHosts = allowed, Timeout = timeout }), resolve);

    private static HostResolver Resolves(params string[] addresses) => (_, _) => Task.FromResult(addresses.Select(IPAddress.Parse).ToArray());

    private Uri ByName(string host, string path) => new($"http://{host}:{new Uri(_receiver.BaseUrl).Port}/{path}");

    [Fact]
    public async Task ANameThatResolvesToAnInternalAddressAtConnectTimeIsRefused()
    {
        // DNS rebinding: the name passed at submission, now it points at loopback.
        using var sender = Sender(Resolves("127.0.0.1"));
        var path = _receiver.NewHook();

        var outcome = await sender.SendAsync(ByName("rebinding.test", path), new Dictionary<string, string>(), "{}"u8.ToArray(), CancellationToken.None);

        Assert.Null(outcome.StatusCode);
        Assert.Contains("loopback", outcome.Error);
        Assert.Empty(_receiver.Received(path));
    }

    [Fact]
    public async Task RefusedAddressesAreSkippedAndAnAllowedOneIsUsed()
    {
        using var sender = Sender(Resolves("10.0.0.1", "169.254.169.254", "127.0.0.1"), "127.0.0.1");
        var path = _receiver.NewHook();

        var outcome = await sender.SendAsync(ByName("receiver.test", path), new Dictionary<string, string>(), "{}"u8.ToArray(), CancellationToken.None);

        Assert.Equal(200, outcome.StatusCode);
        Assert.Single(_receiver.Received(path));
    }

    [Fact]
    public async Task AnAddressLiteralIsCheckedToo()
    {
        using var sender = Sender(Resolves());
        var path = _receiver.NewHook();

        var outcome = await sender.SendAsync(new Uri(_receiver.Url(path)), new Dictionary<string, string>(), "{}"u8.ToArray(), CancellationToken.None);

        Assert.Contains("127.0.0.1 is loopback", outcome.Error);
        Assert.Empty(_receiver.Received(path));
    }

    [Fact]
    public async Task RedirectsAreNotFollowed()
    {
        using var sender = Sender(Resolves(), "127.0.0.1");
        var target = _receiver.NewHook();
        var path = _receiver.NewHook(new Answer(307, Location: _receiver.Url(target)));

        var outcome = await sender.SendAsync(new Uri(_receiver.Url(path)), new Dictionary<string, string>(), "{}"u8.ToArray(), CancellationToken.None);

        Assert.Equal(307, outcome.StatusCode);
        Assert.Empty(_receiver.Received(target));
    }

    [Fact]
    public async Task ASlowReceiverTimesOut()
    {
        using var sender = Sender(Resolves(), TimeSpan.FromSeconds(2), "127.0.0.1");
        var path = _receiver.NewHook(new Answer(200, TimeSpan.FromSeconds(30)));

        var outcome = await sender.SendAsync(new Uri(_receiver.Url(path)), new Dictionary<string, string>(), "{}"u8.ToArray(), CancellationToken.None);

        Assert.Null(outcome.StatusCode);
        Assert.Contains("timed out", outcome.Error);
        Assert.InRange(outcome.Duration, TimeSpan.FromSeconds(1.9), TimeSpan.FromSeconds(29)); // the receiver would answer after 30 s
    }
}
