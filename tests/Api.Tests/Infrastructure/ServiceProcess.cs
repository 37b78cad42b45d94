using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FitService.Api.Tests.Infrastructure;

/// <summary>
/// The published service as a real operating-system process on a loopback port, for tests that kill it,
/// restart it, or run several of it against one database.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private static readonly Lazy<Task<string>> Published = new(PublishAsync);
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServiceProcess(Process process, int port)
    {
        _process = process;
        Port = port;
        Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(100) };
    }

    public int Port { get; }
    public HttpClient Client { get; }
    public string Output { get { lock (_output) return _output.ToString(); } }
    public bool HasExited => _process.HasExited;

    /// <summary>Starts the service with configuration given as <c>Key=Value</c> command-line settings and waits until it is live.</summary>
    public static async Task<ServiceProcess> StartAsync(params string[] settings)
    {
        var service = await LaunchAsync(settings);
        await service.WaitUntilLiveAsync();
        return service;
    }

    /// <summary>As <see cref="StartAsync(string[])"/>, with environment variables for the process (e.g. <c>DOTNET_GCHeapHardLimit</c>).</summary>
    public static async Task<ServiceProcess> StartAsync(IReadOnlyDictionary<string, string> environment, params string[] settings)
    {
        var service = await LaunchAsync(new Dictionary<string, string>(environment), bindLoopback: true, settings);
        await service.WaitUntilLiveAsync();
        return service;
    }

    /// <summary>Starts the service without waiting for it to become live (for starts that are meant to fail).</summary>
    public static Task<ServiceProcess> LaunchAsync(params string[] settings) => LaunchAsync(new Dictionary<string, string>(), bindLoopback: true, settings);

    /// <summary>
    /// Starts the service with extra environment variables, without waiting; unless <paramref name="bindLoopback"/>,
    /// no <c>--urls</c> is given (for starts that must honour <c>ASPNETCORE_HTTP_PORTS</c> and the like).
    /// </summary>
    public static async Task<ServiceProcess> LaunchAsync(IDictionary<string, string> environment, bool bindLoopback, params string[] settings)
    {
        var folder = await Published.Value;
        var port = FreePort();
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(folder, "FitService.Api.dll"));
        if (bindLoopback) info.ArgumentList.Add($"--urls=http://127.0.0.1:{port}");
        foreach (var setting in settings) info.ArgumentList.Add("--" + setting);
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        info.Environment.Remove("ASPNETCORE_URLS");
        info.Environment.Remove("ASPNETCORE_HTTP_PORTS");
        info.Environment.Remove("ASPNETCORE_HTTPS_PORTS");
        foreach (var (name, value) in environment) info.Environment[name] = value;
        var process = new Process { StartInfo = info };
        var service = new ServiceProcess(process, port);
        process.OutputDataReceived += (_, e) => service.Append(e.Data);
        process.ErrorDataReceived += (_, e) => service.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return service;
    }

    public int ProcessId => _process.Id;

    /// <summary>The process's resident memory now, from /proc (Linux), in bytes.</summary>
    public long ResidentBytes()
    {
        var line = File.ReadLines($"/proc/{_process.Id}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }

    public int ExitCode => _process.ExitCode;

    /// <summary>Waits for the process to exit by itself; false when it is still running after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try { await _process.WaitForExitAsync(cts.Token); return true; }
        catch (OperationCanceledException) { return false; }
    }

    /// <summary>SIGKILL: no shutdown code runs.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM, as an orchestrator stops a container; waits for the exit.</summary>
    public async Task TerminateAsync(TimeSpan timeout)
    {
        using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString()]);
        await kill.WaitForExitAsync();
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    private async Task WaitUntilLiveAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException($"the service exited with {_process.ExitCode}:\n{Output}");
            try
            {
                if ((await Client.GetAsync("/health/ready")).StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"the service did not become ready:\n{Output}");
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Publishes src/Api once per test run (Release), as a deployment would.</summary>
    private static async Task<string> PublishAsync()
    {
        var root = RepositoryRoot();
        var output = Path.Combine(Path.GetTempPath(), "fitservice-published-" + Environment.ProcessId);
        var info = new ProcessStartInfo("dotnet", ["publish", Path.Combine(root, "src", "Api", "Api.csproj"), "-c", "Release", "-o", output, "--nologo"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var publish = Process.Start(info)!;
        var log = await publish.StandardOutput.ReadToEndAsync() + await publish.StandardError.ReadToEndAsync();
        await publish.WaitForExitAsync();
        if (publish.ExitCode != 0) throw new InvalidOperationException("dotnet publish failed:\n" + log);
        return output;
    }

    public static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "FitService.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("FitService.sln not found above " + AppContext.BaseDirectory);
    }
}
