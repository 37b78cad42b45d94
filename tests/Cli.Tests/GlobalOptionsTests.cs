using System.CommandLine;
using FitService.Cli.Commands;

namespace FitService.Cli.Tests;

public class GlobalOptionsTests
{
    private static (GlobalOptions Options, ParseResult Result) Parse(string commandLine)
    {
        var options = new GlobalOptions();
        var root = new RootCommand();
        options.AddTo(root);
        root.Subcommands.Add(new Command("list"));
        return (options, root.Parse(commandLine));
    }

    private static CliContext Context(Dictionary<string, string> environment) =>
        CliContext.ForWriters(TextWriter.Null, TextWriter.Null, name => environment.GetValueOrDefault(name));

    [Fact]
    public void TheServerDefaultsToLocalhost5080()
    {
        var (options, result) = Parse("list");
        Assert.Equal(new Uri("http://localhost:5080/"), options.ResolveServer(result, Context([])));
        Assert.Null(options.ResolveApiKey(result, Context([])));
    }

    [Fact]
    public void TheEnvironmentOverridesTheDefaults()
    {
        var (options, result) = Parse("list");
        var context = Context(new() { ["FITSERVICE_URL"] = "https://fits.example.test", ["FITSERVICE_API_KEY"] = "k1" });
        Assert.Equal(new Uri("https://fits.example.test"), options.ResolveServer(result, context));
        Assert.Equal("k1", options.ResolveApiKey(result, context));
    }

    [Fact]
    public void OptionsOverrideTheEnvironmentAndWorkAfterTheSubcommand()
    {
        var (options, result) = Parse("list --server http://fits.internal.test:9000 --api-key k2");
        var context = Context(new() { ["FITSERVICE_URL"] = "https://fits.example.test", ["FITSERVICE_API_KEY"] = "k1" });
        Assert.Equal(new Uri("http://fits.internal.test:9000"), options.ResolveServer(result, context));
        Assert.Equal("k2", options.ResolveApiKey(result, context));
    }

    [Theory]
    [InlineData("list --json", true, false)]
    [InlineData("list --quiet", false, true)]
    [InlineData("list", false, false)]
    public void RedirectedOutputJsonAndQuietNeverAnimate(string commandLine, bool json, bool quiet)
    {
        var (options, result) = Parse(commandLine);
        Assert.Equal(new OutputMode(json, quiet, Live: false), options.ResolveOutput(result, Context([])));
    }

    [Fact]
    public void TheClientKeepsAServerPathAsItsBase()
    {
        var (options, result) = Parse("list --server http://host:1/fitservice");
        var context = Context([]);
        using var http = GlobalOptions.CreateHttpClient(context);
        Assert.Equal(new Uri("http://host:1/fitservice/"), options.CreateClient(http, result, context).BaseAddress);
    }
}
