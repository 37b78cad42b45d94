using FitService.Api.Tests.Infrastructure;

namespace FitService.Api.Tests.Deploy;

/// <summary>
/// The Kubernetes manifests and the Compose file validate against their schemas (validate-manifests.mjs: the npm
/// package kubernetes-models, generated from the Kubernetes OpenAPI schemas, with fields those schemas do not name
/// refused, and the vendored compose-spec schema), and the validation does reject a broken one. The npm packages are pinned and installed by .ci/run into a folder of
/// their own (a test installs them there if they are missing; <c>FITSERVICE_CLIENT_TOOLS</c> moves it).
/// </summary>
public sealed class ManifestSchemaTests
{
    public const string KubernetesModelsVersion = "5.1.0", YamlVersion = "2.8.1", AjvVersion = "8.20.0";

    private static readonly string Tools = Path.Combine(
        Environment.GetEnvironmentVariable("FITSERVICE_CLIENT_TOOLS") is { Length: > 0 } folder ? folder : Path.Combine(Path.GetTempPath(), "fitservice-client-tools"),
        "deploy-npm");

    private static readonly SemaphoreSlim Installing = new(1, 1);

    private static string Repo(params string[] parts) => Path.Combine([RepositoryRoot.Path, .. parts]);

    private static string[] Manifests() =>
        Directory.GetFiles(Repo("deploy", "k8s"), "*.yaml").Where(f => Path.GetFileName(f) != "kustomization.yaml").Order().ToArray();

    [Fact]
    public async Task TheManifestsAndTheComposeFileAreValidAgainstTheirSchemas()
    {
        var (exit, output) = await ValidateAsync(["--compose", Repo("docker-compose.yml"), .. Manifests()]);

        Assert.True(exit == 0, output);
        Assert.Contains("HorizontalPodAutoscaler/fitservice-worker", output);
        Assert.Contains("Deployment/fitservice-api", output);
        Assert.DoesNotContain("INVALID", output);
    }

    [Fact]
    public async Task AManifestOrComposeFileThatBreaksItsSchemaFailsValidation()
    {
        var folder = Directory.CreateTempSubdirectory("fitservice-manifests-").FullName;
        try
        {
            var worker = Path.Combine(folder, "worker.yaml");
            File.WriteAllText(worker, File.ReadAllText(Repo("deploy", "k8s", "worker.yaml")).Replace("replicas: 2", "replicas: two"));
            var hpa = Path.Combine(folder, "hpa.yaml");
            File.WriteAllText(hpa, File.ReadAllText(Repo("deploy", "k8s", "hpa.yaml")).Replace("scaleTargetRef:", "scaleTarget:"));
            var compose = Path.Combine(folder, "docker-compose.yml");
            File.WriteAllText(compose, File.ReadAllText(Repo("docker-compose.yml")).Replace("services:", "servces:"));

            var (exit, output) = await ValidateAsync(["--compose", compose, worker, hpa]);

            Assert.Equal(1, exit);
            Assert.Contains("INVALID " + compose, output);
            Assert.Contains("servces", output);
            Assert.Contains("replicas", output);
            Assert.Contains("scaleTargetRef", output);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task AFieldTheSchemaDoesNotNameFailsValidationAtAnyDepth()
    {
        // The Kubernetes schemas allow unknown fields, and the API server would drop a misspelt one without a word.
        var folder = Directory.CreateTempSubdirectory("fitservice-manifests-").FullName;
        try
        {
            var worker = Path.Combine(folder, "worker.yaml");
            var workerText = File.ReadAllText(Repo("deploy", "k8s", "worker.yaml"));
            Assert.Contains("\n  replicas: 2\n", workerText);
            File.WriteAllText(worker, workerText.Replace("\n  replicas: 2\n", "\n  replica: 2\n"));
            var api = Path.Combine(folder, "api.yaml");
            var apiText = File.ReadAllText(Repo("deploy", "k8s", "api.yaml"));
            Assert.Contains("readOnlyRootFilesystem: true", apiText);
            File.WriteAllText(api, apiText.Replace("readOnlyRootFilesystem: true", "readOnlyRootFileSystem: true"));

            var (exit, output) = await ValidateAsync([worker, api]);

            Assert.Equal(1, exit);
            Assert.Contains("Deployment/fitservice-worker: /spec/replica is not a field", output);
            Assert.Contains("/securityContext/readOnlyRootFileSystem is not a field", output);
            // The Service beside the broken Deployment, and maps of free keys (labels, limits) in both, are still fine.
            Assert.Contains("ok      " + api + "#2 Service/fitservice", output);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Runs the validator from a scratch folder whose node_modules is the pinned install.</summary>
    private static async Task<(int Exit, string Output)> ValidateAsync(string[] arguments)
    {
        await EnsureInstalledAsync();
        var scratch = Directory.CreateTempSubdirectory("fitservice-validate-").FullName;
        try
        {
            // ES modules resolve packages from the script's own folder up, not from NODE_PATH: put the script beside them.
            File.Copy(Repo("tests", "Api.Tests", "Deploy", "validate-manifests.mjs"), Path.Combine(scratch, "validate-manifests.mjs"));
            Directory.CreateDirectory(Path.Combine(scratch, "schemas"));
            File.Copy(Repo("tests", "Api.Tests", "Deploy", "schemas", "compose-spec.json"), Path.Combine(scratch, "schemas", "compose-spec.json"));
            Directory.CreateSymbolicLink(Path.Combine(scratch, "node_modules"), Path.Combine(Tools, "node_modules"));
            return await ProcessRunner.RunAsync("node", ["validate-manifests.mjs", .. arguments], scratch, TimeSpan.FromMinutes(2));
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    private static async Task EnsureInstalledAsync()
    {
        await Installing.WaitAsync();
        try
        {
            string[] wanted = [$"kubernetes-models@{KubernetesModelsVersion}", $"yaml@{YamlVersion}", $"ajv@{AjvVersion}"];
            if (wanted.All(p => File.Exists(Path.Combine(Tools, "node_modules", p[..p.LastIndexOf('@')], "package.json"))
                                && File.ReadAllText(Path.Combine(Tools, "node_modules", p[..p.LastIndexOf('@')], "package.json")).Contains($"\"version\": \"{p[(p.LastIndexOf('@') + 1)..]}\""))) return;
            Directory.CreateDirectory(Tools);
            var (exit, output) = await ProcessRunner.RunAsync("npm", ["install", "--prefix", Tools, "--no-audit", "--no-fund", "--save-exact", .. wanted], Tools, TimeSpan.FromMinutes(10));
            Assert.True(exit == 0, $"npm install failed:\n{output}");
        }
        finally
        {
            Installing.Release();
        }
    }
}
