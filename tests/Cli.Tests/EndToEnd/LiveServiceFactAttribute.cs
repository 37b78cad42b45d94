namespace FitService.Cli.Tests.EndToEnd;

/// <summary>A test against a live FitService (<see cref="LiveService"/>: the one at <c>FITSERVICE_TEST_URL</c>, with
/// <c>FITSERVICE_TEST_API_KEY</c> when it needs a key, or else one started by the tests); skipped, saying so, when a
/// program the test runs is not on PATH, or a Python module it needs (<see cref="PythonModule"/>) is not installed.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class LiveServiceFactAttribute : FactAttribute
{
    public const string UrlVariable = "FITSERVICE_TEST_URL";
    public const string ApiKeyVariable = "FITSERVICE_TEST_API_KEY";

    public LiveServiceFactAttribute(params string[] programs)
    {
        if (programs.FirstOrDefault(p => !OnPath(p)) is { } missing)
            Skip = $"needs '{missing}' on PATH";
    }

    /// <summary>A module Debian's <c>/usr/bin/python3</c> must import for the test to run (e.g. <c>numpy</c>, which .ci/run installs).</summary>
    public string? PythonModule
    {
        get;
        set
        {
            field = value;
            if (value is not null && Skip is null && !Imports(value)) Skip = $"needs the Python module '{value}' in /usr/bin/python3 (Debian's python3-{value})";
        }
    }

    private static bool Imports(string module)
    {
        if (!File.Exists("/usr/bin/python3")) return false;
        using var python = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("/usr/bin/python3", ["-c", $"import {module}"])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        python.WaitForExit();
        return python.ExitCode == 0;
    }

    private static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Any(dir => File.Exists(Path.Combine(dir, program)));
}
