using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace FitService.Cli.Tests.EndToEnd;

/// <summary>
/// The docs are tested: every <c>```bash</c> block of README.md, docs/cli.md and docs/analysis.md runs, in order, in one bash with
/// <c>set -euo pipefail</c>, against the live service (its address put in for <c>localhost:5080</c>) with the built
/// fitctl on PATH. A block preceded by <c>&lt;!-- not run: why --&gt;</c> is skipped, and says why.
/// </summary>
[Collection(LiveServiceCollection.Name)]
public sealed partial class DocsRunTests(LiveService service) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fitservice-docs-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [GeneratedRegex(@"^(?<indent>[ ]*)```bash[ ]*\n(?<body>.*?)^\k<indent>```[ ]*$", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex BashBlock();

    /// <summary>The runnable bash blocks of a markdown file, in order, with the line each starts on.</summary>
    public static List<(int Line, string Script)> Blocks(string markdown)
    {
        var blocks = new List<(int, string)>();
        foreach (Match match in BashBlock().Matches(markdown.Replace("\r\n", "\n")))
        {
            var before = markdown[..match.Index].TrimEnd();
            var lastLine = before[(before.LastIndexOf('\n') + 1)..].Trim();
            if (lastLine.StartsWith("<!-- not run:", StringComparison.Ordinal)) continue;
            var indent = match.Groups["indent"].Value;
            var body = string.Join('\n', match.Groups["body"].Value.Split('\n').Select(l => l.StartsWith(indent, StringComparison.Ordinal) ? l[indent.Length..] : l));
            blocks.Add((markdown[..match.Index].Count(c => c == '\n') + 1, body));
        }
        return blocks;
    }

    [Fact]
    public void BlocksAreFoundAndTheSkippedOnesSayWhy()
    {
        var markdown = "a\n\n```bash\necho 1\n```\n<!-- not run: needs a GPU -->\n```bash\nnvidia-smi\n```\n  ```bash\n  echo 2\n  ```\n";

        Assert.Equal(["echo 1\n", "echo 2\n"], Blocks(markdown).Select(b => b.Script));
    }

    [LiveServiceFact("bash", "curl", "jq")]
    public async Task ReadmeAndCliDocsRunAsWritten()
    {
        var root = RepositoryRoot();
        // The docs run their example scripts as examples/… and the Python client as clients/…, from a checkout.
        Directory.CreateSymbolicLink(Path.Combine(_dir, "examples"), Path.Combine(root, "examples"));
        Directory.CreateSymbolicLink(Path.Combine(_dir, "clients"), Path.Combine(root, "clients"));
        var script = new StringBuilder("set -euo pipefail\n");
        foreach (var file in new[] { "README.md", "docs/cli.md", "docs/analysis.md" })
        {
            foreach (var (line, body) in Blocks(await File.ReadAllTextAsync(Path.Combine(root, file))))
            {
                script.Append($"echo '>>> {file}:{line}' >&2\n");
                script.Append(body.Replace("localhost:5080", service.Url.Replace("http://", ""))).Append('\n');
            }
        }

        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _dir };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script.ToString());
        start.Environment["PATH"] = AppContext.BaseDirectory + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH");
        start.Environment["FITSERVICE_URL"] = service.Url;
        if (service.ApiKey is { } key)
        {
            start.Environment["FITSERVICE_API_KEY"] = key;
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);

        var err = await error;
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}; the last block started at {err.Split(">>> ").Last().Split('\n')[0]}\n{err}\n{await output}");
        Assert.Contains("2.42185", await output); // the lesson's first loss, 2.4219 rounded, from the walk-through and its CSV twin
    }

    [Fact]
    public void NoDocSaysDraftOrLinksOutsideTheRepository()
    {
        var root = RepositoryRoot();
        var docs = Directory.GetFiles(Path.Combine(root, "docs"), "*.md").Append(Path.Combine(root, "README.md"));
        foreach (var file in docs)
        {
            var lines = File.ReadAllLines(file);
            for (var i = 0; i < lines.Length; i++)
            {
                Assert.False(Regex.IsMatch(lines[i], @"\bdraft\b", RegexOptions.IgnoreCase), $"{file}:{i + 1} says draft: {lines[i]}");
                foreach (Match link in Regex.Matches(lines[i], @"\]\((?<target>[^)#\s]+)"))
                {
                    var target = link.Groups["target"].Value;
                    if (target.Contains("://", StringComparison.Ordinal) || target.StartsWith("mailto:", StringComparison.Ordinal)) continue;
                    var resolved = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(file)!, target));
                    Assert.True(resolved.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal), $"{file}:{i + 1} links outside the repository: {target}");
                    Assert.True(File.Exists(resolved) || Directory.Exists(resolved), $"{file}:{i + 1} links to a missing file: {target}");
                }
            }
        }
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "FitService.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("FitService.sln not found above " + AppContext.BaseDirectory);
    }
}
