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

    [Theory]
    [InlineData("ASPNETCORE_HTTP_PORTS")]
    [InlineData("ASPNETCORE_HTTPS_PORTS")]
    public async Task TheLocalModeRefusesToStartWhenPortsBindEveryAddress(string variable)
    {
        // The ports bind every address when no URL is given; a default URL must not hide them.
        var environment = new Dictionary<string, string> { [variable] = "1" };
        await using var service = await ServiceProcess.LaunchAsync(environment, bindLoopback: false, "Workers:Count=0");
        Assert.True(await service.WaitForExitAsync(TimeSpan.FromSeconds(60)), "the service kept running:\n" + service.Output);
        Assert.Equal(2, service.ExitCode);
        Assert.Contains("refuses to start", service.Output);
        Assert.Contains($"{variable}=1 (all addresses)", service.Output);
    }

    [Fact]
    public async Task WithKeysHttpPortsIsWhereTheServiceListens()
    {
        var port = ServiceProcess.FreePort();
        var environment = new Dictionary<string, string> { ["ASPNETCORE_HTTP_PORTS"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        await using var service = await ServiceProcess.LaunchAsync(environment, bindLoopback: false, "Workers:Count=0", "Auth:Keys:0:Tenant=acme", $"Auth:Keys:0:Hash={FitService.Api.Auth.ApiKeys.HashOf(Keys.Acme)}");
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        HttpResponseMessage? live = null;
        while (live is null && DateTime.UtcNow < deadline && !service.HasExited)
        {
            try { live = await client.GetAsync("/health/live"); }
            catch (HttpRequestException) { await Task.Delay(200); }
        }
        Assert.True(live is { StatusCode: HttpStatusCode.OK }, "the service did not listen on ASPNETCORE_HTTP_PORTS:\n" + service.Output);
    }

    [Fact]
    public async Task KestrelCutsAbusiveHeadersAndSlowClientsAndTheServiceCarriesOn()
    {
        await using var service = await ServiceProcess.StartAsync("Workers:Count=0", "Limits:RequestHeadersTimeoutSeconds=2");
        Assert.Contains("local mode: anonymous, listening on loopback only", service.Output);

        // Past the documented limits: answered by the pipeline, as problem details.
        AssertProblemDetails(431, await AnswerOf(service.Port, $"GET /v1/fits HTTP/1.1\r\nHost: localhost\r\nX-Big: {new string('a', 64 * 1024)}\r\n\r\n"));
        AssertProblemDetails(431, await AnswerOf(service.Port,
            "GET /v1/fits HTTP/1.1\r\nHost: localhost\r\n" + string.Concat(Enumerable.Range(0, 200).Select(i => $"X-H{i}: v\r\n")) + "\r\n"));
        AssertProblemDetails(414, await AnswerOf(service.Port, $"GET /v1/fits?label={new string('a', 16 * 1024)} HTTP/1.1\r\nHost: localhost\r\n\r\n"));
        // Past Kestrel's backstop (four times as much): Kestrel's own bare answer, the connection cut all the same.
        Assert.Equal(431, await StatusOf(service.Port, $"GET /v1/fits HTTP/1.1\r\nHost: localhost\r\nX-Big: {new string('a', 1024 * 1024)}\r\n\r\n"));
        Assert.Equal(414, await StatusOf(service.Port, $"GET /v1/fits?label={new string('a', 64 * 1024)} HTTP/1.1\r\nHost: localhost\r\n\r\n"));
        // Local mode: a name that is not loopback (DNS rebinding) is 421 problem details; loopback names with any port are served.
        AssertProblemDetails(421, await AnswerOf(service.Port, "GET /v1/fits HTTP/1.1\r\nHost: rebound.example:80\r\nConnection: close\r\n\r\n"));
        Assert.Equal(200, await StatusOf(service.Port, "GET /v1/fits HTTP/1.1\r\nHost: localhost:9\r\nConnection: close\r\n\r\n"));
        Assert.Equal(200, await StatusOf(service.Port, "GET /v1/fits HTTP/1.1\r\nHost: [::1]\r\nConnection: close\r\n\r\n"));
        // HEAD through the real Kestrel: GET's status and headers, no body.
        var head = await AnswerOf(service.Port, "HEAD /v1/fits HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        Assert.Equal(200, head.Status);
        Assert.Contains("Content-Type: application/json", head.Text);
        Assert.EndsWith("\r\n\r\n", head.Text);
        Assert.Equal(400, await StatusOf(service.Port, "GET /v1/fits/%00 HTTP/1.1\r\nHost: localhost\r\n\r\n"));
        AssertProblemDetails(400, await AnswerOf(service.Port, "POST /v1/fits HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"));
        Assert.Equal(400, await StatusOf(service.Port,
            "POST /v1/fits HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}"));
        Assert.Equal(400, await StatusOf(service.Port, "GET /v1/fits HTTP/1.1\r\n\r\n")); // no Host

        // Slow headers: cut after Limits:RequestHeadersTimeoutSeconds, however slowly bytes keep coming.
        var slowHeaders = await TimeUntilClosed(service.Port, "GET /v1/fits HTTP/1.1\r\nHost: localhost\r\n", "X-Slow: a\r\n", TimeSpan.FromSeconds(1));
        Assert.InRange(slowHeaders.TotalSeconds, 1, 10);

        // Slow body: cut once the rate stays below Limits:MinRequestBodyBytesPerSecond after the 5 s grace period.
        var slowBody = await TimeUntilClosed(service.Port,
            "POST /v1/fits HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n[", "1,", TimeSpan.FromSeconds(1));
        Assert.InRange(slowBody.TotalSeconds, 4, 20);

        Assert.Equal(HttpStatusCode.OK, (await service.Client.GetAsync("/health/ready")).StatusCode);
        var list = await service.Client.GetFromJsonAsync<System.Text.Json.JsonElement>("/v1/fits");
        Assert.Equal(0, list.GetProperty("items").GetArrayLength());
    }

    /// <summary>Sends raw bytes and reads the status code of the answer.</summary>
    private static async Task<int> StatusOf(int port, string request) => (await AnswerOf(port, request)).Status;

    /// <summary>Sends raw bytes and reads the status and the head (headers and, for small answers, the body) of the answer.</summary>
    private static async Task<(int Status, string Text)> AnswerOf(int port, string request)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var stream = tcp.GetStream();
        try { await stream.WriteAsync(Encoding.ASCII.GetBytes(request)); }
        catch (IOException) { } // the server may answer and close before it has read everything
        using var reader = new StreamReader(stream, Encoding.ASCII);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var statusLine = await reader.ReadLineAsync(timeout.Token) ?? "";
        var rest = new StringBuilder();
        var buffer = new char[4096];
        try
        {
            // Up to the end of the connection (these answers close it) or of a short body.
            for (int n; rest.Length < 16 * 1024 && (n = await reader.ReadAsync(buffer, timeout.Token)) > 0;)
            {
                rest.Append(buffer, 0, n);
                if (rest.ToString().Contains("\r\n\r\n") && rest.ToString().TrimEnd().EndsWith('}')) break;
            }
        }
        catch (IOException) { }
        return (int.Parse(statusLine.Split(' ')[1]), rest.ToString());
    }

    private static void AssertProblemDetails(int status, (int Status, string Text) answer)
    {
        Assert.Equal(status, answer.Status);
        Assert.Contains("Content-Type: application/problem+json", answer.Text);
        foreach (var member in new[] { "\"type\":", "\"title\":", $"\"status\":{status}", "\"detail\":" }) Assert.Contains(member, answer.Text);
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
