using System.Globalization;
using System.Text.Json;
using FitService.Api.Tests.Infrastructure;
using FitService.Engine;

namespace FitService.Clients.Tests;

/// <summary>
/// Clients generated from the served OpenAPI document, as a new user of each generator would make them (default settings),
/// compiled and run against the live service: the lesson submitted and waited for, its history paged as JSON and CSV, the
/// list read while an "auto" fit exists, a batch and its results, a plot downloaded, a validation error read as problem
/// details. A generator that breaks on the document, a client that does not compile, or a step that fails, fails here.
/// </summary>
public sealed class GeneratedClientTests(GeneratedClientTests.LiveService live) : IClassFixture<GeneratedClientTests.LiveService>
{
    /// <summary>One service process for all the clients, and the document it serves.</summary>
    public sealed class LiveService : IAsyncLifetime
    {
        public ServiceProcess Service { get; private set; } = null!;
        public string Work { get; } = Directory.CreateTempSubdirectory("fitservice-clients-").FullName;
        public string Document => Path.Combine(Work, "openapi.json");
        public string BaseUrl => $"http://127.0.0.1:{Service.Port}";

        public async Task InitializeAsync()
        {
            Service = await ServiceProcess.StartAsync(
                $"Storage:ConnectionString=Data Source={Path.Combine(Work, "fits.db")}", "Workers:Count=2");
            await File.WriteAllTextAsync(Document, await Service.Client.GetStringAsync("/swagger/v1/swagger.json"));
        }

        public async Task DisposeAsync()
        {
            await Service.DisposeAsync();
            try { Directory.Delete(Work, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static readonly TimeSpan Generous = TimeSpan.FromMinutes(8);

    private static string Scenarios => Path.Combine(AppContext.BaseDirectory, "Scenarios");

    private static readonly string LessonJson = JsonSerializer.Serialize(new { x = LessonData.X, y = LessonData.Y, initialParams = LessonData.InitialParams });

    /// <summary>A console project around a generated C# client and its scenario, run with the service's address.</summary>
    private async Task<string> RunCSharpScenarioAsync(string name, string packages)
    {
        var folder = Path.Combine(live.Work, name);
        File.Copy(Path.Combine(Scenarios, name, "Program.cs"), Path.Combine(folder, "Program.cs"), overwrite: true);
        File.Copy(Path.Combine(Scenarios, "Shared.cs"), Path.Combine(folder, "Shared.cs"), overwrite: true);
        await File.WriteAllTextAsync(Path.Combine(folder, "lesson.json"), LessonJson);
        await File.WriteAllTextAsync(Path.Combine(folder, name + "-scenario.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
                <NoWarn>$(NoWarn);CS8600;CS8602;CS8603;CS8604;CS8618;CS8625;CS0108;CS0114;CS1591</NoWarn>
              </PropertyGroup>
              <ItemGroup>
            {packages}
              </ItemGroup>
            </Project>
            """);
        return await ClientTools.RunAsync("dotnet", ["run", "--", live.BaseUrl], folder, Generous);
    }

    [Fact]
    public async Task TheNSwagCSharpClientRunsTheScenario()
    {
        await ClientTools.EnsureDotnetToolAsync("NSwag.ConsoleCore", ClientTools.NSwagVersion, "nswag");
        var folder = Path.Combine(live.Work, "nswag");
        await ClientTools.RunAsync(ClientTools.NSwag,
            ["openapi2csclient", $"/input:{live.Document}", $"/output:{Path.Combine(folder, "Client.cs")}", "/namespace:Gen.NSwag", "/className:FitServiceClient"],
            live.Work, Generous);

        var output = await RunCSharpScenarioAsync("nswag",
            $"""    <PackageReference Include="Newtonsoft.Json" Version="{ClientTools.NewtonsoftVersion}" />""");

        Assert.Contains("scenario passed", output);
    }

    [Fact]
    public async Task TheKiotaCSharpClientRunsTheScenario()
    {
        await ClientTools.EnsureDotnetToolAsync("Microsoft.OpenApi.Kiota", ClientTools.KiotaVersion, "kiota");
        var folder = Path.Combine(live.Work, "kiota");
        await ClientTools.RunAsync(ClientTools.Kiota,
            ["generate", "-l", "CSharp", "-d", live.Document, "-o", Path.Combine(folder, "Client"), "-n", "Gen.Kiota", "-c", "FitServiceClient", "--log-level", "Warning"],
            live.Work, Generous, new Dictionary<string, string> { ["KIOTA_TUTORIAL_ENABLED"] = "false", ["KIOTA_OFFLINE_ENABLED"] = "true" });

        var libraries = new[]
        {
            "Abstractions", "Http.HttpClientLibrary", "Serialization.Json", "Serialization.Text", "Serialization.Form", "Serialization.Multipart",
        };
        var output = await RunCSharpScenarioAsync("kiota", string.Join("\n", libraries.Select(l =>
            $"""    <PackageReference Include="Microsoft.Kiota.{l}" Version="{ClientTools.KiotaLibrariesVersion}" />""")));

        Assert.Contains("scenario passed", output);
    }

    [Fact]
    public async Task TheTypeScriptClientRunsTheScenario()
    {
        await ClientTools.EnsureNpmAsync();
        var folder = Path.Combine(live.Work, "typescript");
        Directory.CreateDirectory(folder);
        foreach (var file in Directory.GetFiles(Path.Combine(Scenarios, "typescript"))) File.Copy(file, Path.Combine(folder, Path.GetFileName(file)), overwrite: true);
        var modules = Path.Combine(folder, "node_modules");
        if (!Directory.Exists(modules)) Directory.CreateSymbolicLink(modules, Path.Combine(ClientTools.Folder, "npm", "node_modules"));
        var lesson = $"export const lesson = {LessonJson} as {{ x: number[]; y: number[]; initialParams: number[] }};\n";
        await File.WriteAllTextAsync(Path.Combine(folder, "lesson.ts"), lesson);

        await ClientTools.RunAsync(ClientTools.NodeBin("openapi-typescript"), [live.Document, "-o", Path.Combine(folder, "schema.d.ts")], folder, Generous);
        await ClientTools.RunAsync(ClientTools.NodeBin("tsc"), ["-p", "tsconfig.json"], folder, Generous);
        var output = await ClientTools.RunAsync("node", [Path.Combine("out", "scenario.js"), live.BaseUrl], folder, Generous);

        Assert.Contains("scenario passed", output);
    }

    [Fact]
    public async Task TheServedDocumentPassesOpenApiSpecValidator()
    {
        var output = await ClientTools.RunAsync("python3", ["-m", "openapi_spec_validator", live.Document], live.Work, Generous);

        Assert.Contains("OK", output);
    }

    [Fact]
    public async Task TheServedDocumentPassesRedoclyLintWithoutErrors()
    {
        await ClientTools.EnsureNpmAsync();
        // redocly exits non-zero on any error (warnings, such as "no license", do not fail it).
        var output = await ClientTools.RunAsync(ClientTools.NodeBin("redocly"), ["lint", "--format=summary", live.Document], live.Work, Generous,
            new Dictionary<string, string> { ["REDOCLY_TELEMETRY"] = "off", ["REDOCLY_SUPPRESS_UPDATE_NOTICE"] = "true" });

        Assert.DoesNotContain(" error ", output.ToLower(CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task TheServedDocumentPassesSpectralsOasRulesetWithoutErrors()
    {
        await ClientTools.EnsureNpmAsync();
        var ruleset = Path.Combine(live.Work, "spectral.yaml");
        await File.WriteAllTextAsync(ruleset, "extends: [\"spectral:oas\"]\n");

        // --fail-severity error: spectral exits non-zero (and RunAsync throws with its report) on any error; warnings are printed.
        var output = await ClientTools.RunAsync(ClientTools.NodeBin("spectral"), ["lint", live.Document, "--ruleset", ruleset, "--fail-severity", "error"],
            live.Work, Generous);

        Assert.DoesNotContain(" error ", output);
    }
}
