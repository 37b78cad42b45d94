namespace FitService.Cli.Tests.EndToEnd;

/// <summary>A test against a running FitService at <c>FITSERVICE_TEST_URL</c> (and with <c>FITSERVICE_TEST_API_KEY</c>
/// when it needs a key); skipped, saying so, when the variable is not set. Programs the test runs must be on PATH.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class LiveServiceFactAttribute : FactAttribute
{
    public const string UrlVariable = "FITSERVICE_TEST_URL";
    public const string ApiKeyVariable = "FITSERVICE_TEST_API_KEY";

    public LiveServiceFactAttribute(params string[] programs)
    {
        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(UrlVariable)))
            Skip = $"needs a running FitService: set {UrlVariable} (e.g. http://localhost:5080) to run the end-to-end tests";
        else if (programs.FirstOrDefault(p => !OnPath(p)) is { } missing)
            Skip = $"needs '{missing}' on PATH";
    }

    private static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Any(dir => File.Exists(Path.Combine(dir, program)));
}
