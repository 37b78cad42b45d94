namespace FitService.Cli.Tests.EndToEnd;

/// <summary>A test against a live FitService (<see cref="LiveService"/>: the one at <c>FITSERVICE_TEST_URL</c>, with
/// <c>FITSERVICE_TEST_API_KEY</c> when it needs a key, or else one started by the tests); skipped, saying so, when a
/// program the test runs is not on PATH.</summary>
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

    private static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Any(dir => File.Exists(Path.Combine(dir, program)));
}
