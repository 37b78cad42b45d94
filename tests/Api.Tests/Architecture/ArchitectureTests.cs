using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using FitService.Api.Tests.Infrastructure;
using FitService.Engine;

namespace FitService.Api.Tests.Architecture;

/// <summary>The rule of docs/architecture.md — which part may use which — checked on the assemblies and the sources.</summary>
public sealed partial class ArchitectureTests
{
    private static readonly string[] BaseLibrary = ["System", "netstandard", "mscorlib", "Microsoft.Win32"];

    [Fact]
    public void TheEngineUsesNothingButTheBaseLibrary() =>
        AssertReferencesOnly(typeof(Fitter).Assembly, BaseLibrary);

    [Fact]
    public void TheContractsUseNothingButTheBaseLibrary() =>
        AssertReferencesOnly(typeof(FitResource).Assembly, BaseLibrary);

    [Theory]
    [InlineData("src/Engine/Engine.csproj", new string[0])]
    [InlineData("src/Contracts/Contracts.csproj", new string[0])]
    [InlineData("src/Client/Client.csproj", new[] { "Contracts" })]
    [InlineData("src/Cli/Cli.csproj", new[] { "Client", "Contracts" })]
    public void ProjectsReferenceOnlyTheProjectsTheRuleAllows(string project, string[] allowed)
    {
        var file = System.IO.Path.Combine(RepositoryRoot.Path, project);
        Assert.True(File.Exists(file), $"{project} is missing");
        var references = XDocument.Load(file).Descendants("ProjectReference")
            .Select(r => System.IO.Path.GetFileNameWithoutExtension(r.Attribute("Include")!.Value))
            .ToList();
        Assert.All(references, r => Assert.Contains(r, allowed));
    }

    [Theory]
    [InlineData("Storage")]
    [InlineData("Notifications")]
    [InlineData("Metrics")]
    [InlineData("Health")]
    public void InfrastructureUsesNoEndpointFeature(string folder)
    {
        string[] features = ["Fits", "Batches", "LearningRates", "Webhooks", "Plots", "Evaluation"];
        var offending =
            from file in Directory.EnumerateFiles(System.IO.Path.Combine(RepositoryRoot.Path, "src/Api", folder), "*.cs")
            from line in File.ReadLines(file)
            let match = ApiUsing().Match(line)
            where match.Success && features.Contains(match.Groups[1].Value)
            select $"{System.IO.Path.GetFileName(file)}: {line.Trim()}";
        Assert.Empty(offending);
    }

    [Fact]
    public void EveryFolderOfTheApiIsInThePicture()
    {
        var picture = File.ReadAllText(System.IO.Path.Combine(RepositoryRoot.Path, "docs/architecture.md"));
        var folders = Directory.EnumerateDirectories(System.IO.Path.Combine(RepositoryRoot.Path, "src/Api"))
            .Where(dir => Directory.EnumerateFiles(dir, "*.cs").Any())
            .Select(System.IO.Path.GetFileName)
            .ToList();
        Assert.NotEmpty(folders);
        Assert.All(folders, folder => Assert.Contains(folder + "/", picture, StringComparison.Ordinal));
    }

    [Fact]
    public void EachNamespaceOfTheApiIsItsFolder()
    {
        var root = System.IO.Path.Combine(RepositoryRoot.Path, "src/Api");
        var offending =
            from file in Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            let relative = System.IO.Path.GetRelativePath(root, file).Replace('\\', '/')
            where !relative.StartsWith("bin/", StringComparison.Ordinal) && !relative.StartsWith("obj/", StringComparison.Ordinal) && relative.Contains('/', StringComparison.Ordinal)
            let folder = relative[..relative.IndexOf('/', StringComparison.Ordinal)]
            let declared = File.ReadLines(file).FirstOrDefault(l => l.StartsWith("namespace ", StringComparison.Ordinal))
            where declared != $"namespace FitService.Api.{folder};"
            select $"{relative}: {declared}";
        Assert.Empty(offending);
    }

    private static void AssertReferencesOnly(Assembly assembly, string[] allowedPrefixes)
    {
        var names = assembly.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.NotEmpty(names);
        Assert.All(names, name => Assert.True(
            allowedPrefixes.Any(p => name == p || name.StartsWith(p + ".", StringComparison.Ordinal)),
            $"{assembly.GetName().Name} references {name}"));
    }

    [GeneratedRegex(@"^\s*using\s+FitService\.Api\.(\w+)\s*;")]
    private static partial Regex ApiUsing();
}
