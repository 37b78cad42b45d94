using System.Net;
using System.Net.Sockets;
using System.Text;
using FitService.Api.Tests.Infrastructure;

namespace FitService.Api.Tests.Security;

/// <summary>What only a real Kestrel in a real process can show: the loopback rule of the local mode, header limits, slow clients.</summary>
public sealed class ProcessSecurityTests
{
    [Fact]
    public async Task TheLocalModeRefusesToStartOnANonLoopbackAddressAndSaysWhy()
    {
        // The process exits while reading its configuration, before it listens anywhere.
        await using var service = await ServiceProcess.LaunchAsync("urls=http://0.0.0.0:1");
        Assert.True(await service.WaitForExitAsync(TimeSpan.FromSeconds(60)), "the service kept running:\n" + service.Output);
        Assert.NotEqual(0, service.ExitCode);
        Assert.Contains("refuses to start", service.Output);
        Assert.Contains("http://0.0.0.0:1", service.Output);
        Assert.Contains("loopback", service.Output);
    }

    [Fact]
    public async Task KestrelCutsAbusiveHeadersAndSlowClientsAndTheServiceCarriesOn()
    {
        await using var service = await ServiceProcess.StartAsync("Workers:Count=0", "Limits:RequestHeadersTimeoutSeconds=2");
        Assert.Contains("local mode: anonymous, listening on loopback only", service.Output);

        Assert.Equal(431, await StatusOf(service.Port, $"GET /v1/fits HTTP/1.1\r\nHost: x\r\nX-Big: {new string('a', 64 * 1024)}\r\n\r\n"));
        Assert.Equal(431, await StatusOf(service.Port,
            "GET /v1/fits HTTP/1.1\r\nHost: x\r\n" + string.Concat(Enumerable.Range(0, 200).Select(i => $"X-H{i}: v\r\n")) + "\r\n"));
        Assert.Equal(414, await StatusOf(service.Port, $"GET /v1/fits?label={new string('a', 16 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n"));
        Assert.Equal(400, await StatusOf(service.Port, "GET /v1/fits/%00 HTTP/1.1\r\nHost: x\r\n\r\n"));
        Assert.Equal(400, await StatusOf(service.Port, "POST /v1/fits HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"));
        Assert.Equal(400, await StatusOf(service.Port,
            "POST /v1/fits HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}"));
        Assert.Equal(400, await StatusOf(service.Port, "GET /v1/fits HTTP/1.1\r\n\r\n")); // no Host

        // Slow headers: cut after Limits:RequestHeadersTimeoutSeconds, however slowly bytes keep coming.
        var slowHeaders = await TimeUntilClosed(service.Port, "GET /v1/fits HTTP/1.1\r\nHost: x\r\n", "X-Slow: a\r\n", TimeSpan.FromSeconds(1));
        Assert.InRange(slowHeaders.TotalSeconds, 1, 10);

        // Slow body: cut once the rate stays below Limits:MinRequestBodyBytesPerSecond after the 5 s grace period.
        var slowBody = await TimeUntilClosed(service.Port,
            "POST /v1/fits HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n[", "1,", TimeSpan.FromSeconds(1));
        Assert.InRange(slowBody.TotalSeconds, 4, 20);

        Assert.Equal(HttpStatusCode.OK, (await service.Client.GetAsync("/health/ready")).StatusCode);
        var list = await service.Client.GetFromJsonAsync<System.Text.Json.JsonElement>("/v1/fits");
        Assert.Equal(0, list.GetProperty("items").GetArrayLength());
    }

    /// <summary>Sends raw bytes and reads the status code of the answer.</summary>
    private static async Task<int> StatusOf(int port, string request)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var stream = tcp.GetStream();
        try { await stream.WriteAsync(Encoding.ASCII.GetBytes(request)); }
        catch (IOException) { } // the server may answer and close before it has read everything
        using var reader = new StreamReader(stream, Encoding.ASCII);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var statusLine = await reader.ReadLineAsync(timeout.Token) ?? "";
        return int.Parse(statusLine.Split(' ')[1]);
    }

    /// <summary>Sends <paramref name="start"/>, then <paramref name="drip"/> every <paramref name="every"/> until the server closes the connection.</summary>
    private static async Task<TimeSpan> TimeUntilClosed(int port, string start, string drip, TimeSpan every)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var stream = tcp.GetStream();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(start));
        var read = stream.ReadAsync(new byte[4096]).AsTask();
        while (watch.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (await Task.WhenAny(read, Task.Delay(every)) == read) return watch.Elapsed; // answered (408) or closed
            try { await stream.WriteAsync(Encoding.ASCII.GetBytes(drip)); }
            catch (IOException) { return watch.Elapsed; }
        }
        throw new TimeoutException("the slow client was never cut off");
    }
}
