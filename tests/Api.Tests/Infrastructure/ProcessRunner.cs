using System.Diagnostics;
using System.Text;

namespace FitService.Api.Tests.Infrastructure;

/// <summary>Runs a command to its end (node, npm, dotnet tools): its exit code and everything it printed, both streams in order.</summary>
public static class ProcessRunner
{
    /// <exception cref="TimeoutException">The command was still running after <paramref name="timeout"/> (it is killed, with its children).</exception>
    public static async Task<(int Exit, string Output)> RunAsync(string file, IEnumerable<string> arguments, string workingDirectory, TimeSpan timeout,
        IDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(file) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) info.Environment[key] = value;
        using var process = new Process { StartInfo = info };
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            lock (output) throw new TimeoutException($"{file} {string.Join(' ', info.ArgumentList)} did not end within {timeout}:\n{output}");
        }
        process.WaitForExit(); // the redirected streams are read to their end
        lock (output) return (process.ExitCode, output.ToString());
    }
}
