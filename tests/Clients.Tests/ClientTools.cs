using FitService.Api.Tests.Infrastructure;

namespace FitService.Clients.Tests;

/// <summary>
/// The generators and compilers, at pinned versions, in a cache folder outside the repository (.ci/run installs them there
/// first; a test installs what is missing). <c>FITSERVICE_CLIENT_TOOLS</c> moves the folder.
/// </summary>
public static class ClientTools
{
    public const string NSwagVersion = "14.7.1", KiotaVersion = "1.38.0";
    public const string OpenApiTypeScriptVersion = "7.13.0", OpenApiFetchVersion = "0.17.0", TypeScriptVersion = "5.9.3", RedoclyVersion = "2.77.0";
    public const string SpectralVersion = "6.16.3";

    /// <summary>Kiota's C# runtime libraries, as `kiota info -l CSharp` names them for the generator above.</summary>
    public const string KiotaLibrariesVersion = "2.1.2";
    public const string NewtonsoftVersion = "13.0.4";

    public static string Folder { get; } = Environment.GetEnvironmentVariable("FITSERVICE_CLIENT_TOOLS") is { Length: > 0 } folder
        ? folder
        : Path.Combine(Path.GetTempPath(), "fitservice-client-tools");

    public static string NSwag => Path.Combine(Folder, "dotnet", "nswag");
    public static string Kiota => Path.Combine(Folder, "dotnet", "kiota");
    public static string NodeBin(string name) => Path.Combine(Folder, "npm", "node_modules", ".bin", name);

    private static readonly SemaphoreSlim Installing = new(1, 1);

    public static async Task EnsureDotnetToolAsync(string package, string version, string command)
    {
        await Installing.WaitAsync();
        try
        {
            if (File.Exists(Path.Combine(Folder, "dotnet", command))) return;
            await RunAsync("dotnet", ["tool", "install", "--tool-path", Path.Combine(Folder, "dotnet"), package, "--version", version], Folder, TimeSpan.FromMinutes(10));
        }
        finally
        {
            Installing.Release();
        }
    }

    public static async Task EnsureNpmAsync()
    {
        await Installing.WaitAsync();
        try
        {
            var wanted = new (string Name, string Version)[]
            {
                ("openapi-typescript", OpenApiTypeScriptVersion), ("openapi-fetch", OpenApiFetchVersion), ("typescript", TypeScriptVersion), ("@redocly/cli", RedoclyVersion),
                ("@stoplight/spectral-cli", SpectralVersion),
            };
            if (wanted.All(p => InstalledVersion(p.Name) == p.Version)) return;
            Directory.CreateDirectory(Path.Combine(Folder, "npm"));
            await RunAsync("npm", ["install", "--prefix", Path.Combine(Folder, "npm"), "--no-audit", "--no-fund", "--save-exact", .. wanted.Select(p => $"{p.Name}@{p.Version}")],
                Folder, TimeSpan.FromMinutes(10));
        }
        finally
        {
            Installing.Release();
        }
    }

    private static string? InstalledVersion(string package)
    {
        var manifest = Path.Combine(Folder, "npm", "node_modules", package, "package.json");
        if (!File.Exists(manifest)) return null;
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(manifest));
        return json.RootElement.TryGetProperty("version", out var version) ? version.GetString() : null;
    }

    /// <summary>Runs a command to its end; a non-zero exit fails with everything it printed.</summary>
    public static async Task<string> RunAsync(string file, IEnumerable<string> arguments, string workingDirectory, TimeSpan timeout,
        IDictionary<string, string>? environment = null)
    {
        Directory.CreateDirectory(workingDirectory);
        var quiet = new Dictionary<string, string> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["DOTNET_NOLOGO"] = "1" };
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) quiet[key] = value;
        var (exit, text) = await ProcessRunner.RunAsync(file, arguments, workingDirectory, timeout, quiet);
        if (exit != 0) throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited with {exit}:\n{text}");
        return text;
    }
}
