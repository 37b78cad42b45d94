using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace FitService.Api.Webhooks;

/// <summary>Resolves a host name to its addresses (DNS by default; tests substitute one to play DNS rebinding).</summary>
public delegate Task<IPAddress[]> HostResolver(string host, CancellationToken ct);

/// <summary>What one attempt came to: the status code, or the error that kept it from getting one.</summary>
public sealed record SendOutcome(int? StatusCode, string? Error, TimeSpan Duration);

/// <summary>Refused by the address rules at connect time.</summary>
public sealed class WebhookAddressRefusedException(string message) : Exception(message);

/// <summary>
/// POSTs signed events. The address actually connected to is checked at connect time (after DNS, so a name that
/// rebinds to an internal address between submission and delivery is still refused); no proxy, no redirects,
/// at most <see cref="WebhookOptions.MaxResponseBytes"/> of the answer is read, each attempt has a deadline.
/// </summary>
public sealed class WebhookSender : IDisposable
{
    private readonly HttpClient _http;
    private readonly WebhookOptions _options;
    private readonly WebhookAllowList _allowList;
    private readonly HostResolver _resolve;

    public WebhookSender(IOptions<WebhookOptions> options, HostResolver resolve)
    {
        _options = options.Value;
        _allowList = new WebhookAllowList(_options.AllowedHosts);
        _resolve = resolve;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = _options.Timeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            ConnectCallback = ConnectAsync,
        };
        _http = new HttpClient(handler) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
    }

    public async Task<SendOutcome> SendAsync(Uri url, IReadOnlyDictionary<string, string> headers, byte[] body, CancellationToken shutdown)
    {
        var clock = Stopwatch.StartNew();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(shutdown);
        deadline.CancelAfter(_options.Timeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new("application/json") { CharSet = "utf-8" };
            request.Headers.UserAgent.ParseAdd("FitService-Webhooks/1.0");
            foreach (var (name, value) in headers) request.Headers.TryAddWithoutValidation(name, value);
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
            await DrainAsync(response, deadline.Token);
            return new SendOutcome((int)response.StatusCode, null, clock.Elapsed);
        }
        catch (OperationCanceledException) when (!shutdown.IsCancellationRequested)
        {
            return new SendOutcome(null, $"timed out after {_options.Timeout.TotalSeconds:0.###} s", clock.Elapsed);
        }
        catch (HttpRequestException e)
        {
            var refused = FindInner<WebhookAddressRefusedException>(e);
            return new SendOutcome(null, refused?.Message ?? Describe(e), clock.Elapsed);
        }
        catch (IOException e)
        {
            return new SendOutcome(null, e.Message, clock.Elapsed);
        }
    }

    /// <summary>Reads at most the configured number of bytes, so a receiver cannot make us download without end.</summary>
    private async Task DrainAsync(HttpResponseMessage response, CancellationToken ct)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(ct);
        var buffer = new byte[Math.Min(_options.MaxResponseBytes, 64 * 1024)];
        var total = 0;
        while (total < _options.MaxResponseBytes)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(0, Math.Min(buffer.Length, _options.MaxResponseBytes - total)), ct);
            if (read == 0) break;
            total += read;
        }
    }

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken ct)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal) ? [literal] : await _resolve(host, ct);
        var reasons = new List<string>();
        Exception? lastError = null;
        foreach (var address in addresses)
        {
            if (_allowList.RefusalReason(host, address) is { } reason)
            {
                reasons.Add(reason);
                continue;
            }
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), ct);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                lastError = e;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        if (lastError is not null) throw lastError;
        throw new WebhookAddressRefusedException(addresses.Length == 0
            ? $"{host} has no addresses"
            : $"refused: {string.Join("; ", reasons)}");
    }

    private static T? FindInner<T>(Exception e) where T : Exception
    {
        for (Exception? inner = e; inner is not null; inner = inner.InnerException) if (inner is T match) return match;
        return null;
    }

    private static string Describe(HttpRequestException e) =>
        FindInner<SocketException>(e) is { } socket ? $"{socket.SocketErrorCode}: {socket.Message}" : e.Message;

    public void Dispose() => _http.Dispose();
}
