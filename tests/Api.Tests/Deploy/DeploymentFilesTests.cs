using System.Text.RegularExpressions;
using FitService.Api.Storage;
using System.Xml.Linq;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace FitService.Api.Tests.Deploy;

/// <summary>
/// The deployment files, read as Docker Compose and Kubernetes would read them (no engine runs here): the services
/// and processes they describe, the configuration keys they set, and that the image builds from the projects that exist.
/// </summary>
public sealed class DeploymentFilesTests
{
    private static readonly string Root = FindRepositoryRoot();
    private const string PostgresConnection = "Host=postgres;";

    [Fact]
    public void DeploymentKeysAreTheOptionsTheServiceBinds()
    {
        Assert.Equal("Storage__Provider", $"{StorageOptions.Section}__{nameof(StorageOptions.Provider)}");
        Assert.Equal("Storage__ConnectionString", $"{StorageOptions.Section}__{nameof(StorageOptions.ConnectionString)}");
        Assert.Equal("Workers__Count", $"{WorkersOptions.Section}__{nameof(WorkersOptions.Count)}");
        Assert.Equal("Api__Enabled", $"{ApiOptions.Section}__{nameof(ApiOptions.Enabled)}");
    }

    [Fact]
    public void PlainComposeUpIsTheEmbeddedServiceWithItsDatabaseInAVolume()
    {
        var services = ComposeServices();
        var defaults = services.Where(s => !Map(s.Value).ContainsKey("profiles")).Select(s => s.Key);
        Assert.Equal(["fitservice"], defaults);

        var fitservice = services["fitservice"];
        var env = Env(fitservice);
        Assert.Equal("sqlite", env["Storage__Provider"]);
        Assert.Equal("Data Source=/app/data/fitservice.db", env["Storage__ConnectionString"]);
        Assert.Contains("fitservice-data:/app/data", Strings(At(fitservice, "volumes")));
        Assert.Contains("fitservice-data", Map(At(LoadYaml("docker-compose.yml")[0], "volumes")).Keys);
        Assert.Equal(["5080:8080"], Strings(At(fitservice, "ports")));
        Assert.Equal("deploy/Dockerfile", At(fitservice, "build", "dockerfile"));
    }

    [Fact]
    public void ScaleOutProfileRunsPostgresAnApiOnlyProcessAndTwoWorkers()
    {
        var services = ComposeServices();
        foreach (var name in new[] { "postgres", "api", "worker" })
        {
            Assert.Equal(["scale-out"], Strings(At(services[name], "profiles")));
        }

        Assert.Equal("postgres:17", At(services["postgres"], "image"));
        Assert.Contains(Strings(At(services["postgres"], "volumes")), v => v.EndsWith(":/var/lib/postgresql/data"));
        Assert.Contains("pg_isready", string.Join(' ', Strings(At(services["postgres"], "healthcheck", "test"))));

        var api = Env(services["api"]);
        Assert.Equal("postgres", api["Storage__Provider"]);
        Assert.StartsWith(PostgresConnection, api["Storage__ConnectionString"]);
        Assert.Equal("0", api["Workers__Count"]);
        Assert.False(api.ContainsKey("Api__Enabled"));
        Assert.Equal(["5080:8080"], Strings(At(services["api"], "ports")));

        var worker = Env(services["worker"]);
        Assert.Equal("postgres", worker["Storage__Provider"]);
        Assert.Equal(api["Storage__ConnectionString"], worker["Storage__ConnectionString"]);
        Assert.Equal("false", worker["Api__Enabled"]);
        Assert.Equal("2", worker["Workers__Count"]);
        Assert.Equal("2", At(services["worker"], "deploy", "replicas"));
        Assert.Null(At(services["worker"], "ports"));

        foreach (var name in new[] { "api", "worker" })
        {
            Assert.Equal("service_healthy", At(services[name], "depends_on", "postgres", "condition"));
            Assert.Equal("deploy/Dockerfile", At(services[name], "build", "dockerfile"));
            // Scalable: no fixed container name.
            Assert.Null(At(services[name], "container_name"));
        }
    }

    [Fact]
    public void KubernetesRunsApiAndWorkersWithProbesAndResources()
    {
        var deployments = K8sObjects().Where(o => Equals(At(o, "kind"), "Deployment"))
            .ToDictionary(o => (string)At(o, "metadata", "name")!);
        Assert.Equal(["fitservice-api", "fitservice-worker"], deployments.Keys.Order());

        foreach (var deployment in deployments.Values)
        {
            var container = Single(At(deployment, "spec", "template", "spec", "containers"));
            Assert.Equal("/health/live", At(container, "livenessProbe", "httpGet", "path"));
            Assert.Equal("/health/ready", At(container, "readinessProbe", "httpGet", "path"));
            Assert.Equal("8080", At(Single(At(container, "ports")), "containerPort"));
            foreach (var kind in new[] { "requests", "limits" })
            {
                Assert.NotNull(At(container, "resources", kind, "cpu"));
                Assert.NotNull(At(container, "resources", kind, "memory"));
            }
            Assert.Equal("true", At(deployment, "spec", "template", "spec", "securityContext", "runAsNonRoot"));
            var labels = Map(At(deployment, "spec", "template", "metadata", "labels"));
            Assert.All(Map(At(deployment, "spec", "selector", "matchLabels")), l => Assert.Equal(l.Value, labels[l.Key]));
        }

        var api = ContainerEnv(deployments["fitservice-api"]);
        Assert.Equal("0", At(api["Workers__Count"], "value"));
        Assert.False(api.ContainsKey("Api__Enabled"));
        var worker = ContainerEnv(deployments["fitservice-worker"]);
        Assert.Equal("false", At(worker["Api__Enabled"], "value"));
        Assert.Equal("2", At(worker["Workers__Count"], "value"));
        Assert.Equal("2", At(deployments["fitservice-worker"], "spec", "replicas"));
    }

    [Fact]
    public void KubernetesTakesTheConnectionStringFromASecretAndTheProviderFromTheConfigMap()
    {
        var objects = K8sObjects();
        var configMap = Assert.Single(objects, o => Equals(At(o, "kind"), "ConfigMap"));
        Assert.Equal("postgres", At(configMap, "data", "Storage__Provider"));
        Assert.Null(At(configMap, "data", "Storage__ConnectionString"));

        foreach (var deployment in objects.Where(o => Equals(At(o, "kind"), "Deployment")))
        {
            var container = Single(At(deployment, "spec", "template", "spec", "containers"));
            Assert.Equal(At(configMap, "metadata", "name"), At(Single(At(container, "envFrom")), "configMapRef", "name"));
            var secret = At(ContainerEnv(deployment)["Storage__ConnectionString"], "valueFrom", "secretKeyRef");
            Assert.Equal("fitservice-postgres", At(secret, "name"));
            Assert.Equal("connectionString", At(secret, "key"));
        }

        var service = Assert.Single(objects, o => Equals(At(o, "kind"), "Service"));
        Assert.Equal("api", At(service, "spec", "selector", "app.kubernetes.io/component"));
    }

    /// <summary>Containers listen on every address, which the service refuses to do without API keys (the local mode is loopback only).</summary>
    [Fact]
    public void EveryContainerIsConfiguredWithAnApiKey()
    {
        Assert.Equal("Auth__Keys__0__Hash", $"{FitService.Api.Auth.AuthOptions.Section}__{nameof(FitService.Api.Auth.AuthOptions.Keys)}__0__" + nameof(FitService.Api.Auth.ApiKeyOptions.Hash));
        foreach (var (name, service) in ComposeServices().Where(s => s.Key != "postgres"))
        {
            var env = Env(service);
            Assert.True(env.ContainsKey("Auth__Keys__0__Hash"), $"compose service {name} sets no API key");
            Assert.Contains(":?", env["Auth__Keys__0__Hash"]);
            Assert.False(string.IsNullOrEmpty(env["Auth__Keys__0__Tenant"]));
        }

        var objects = K8sObjects();
        var configMap = Assert.Single(objects, o => Equals(At(o, "kind"), "ConfigMap"));
        Assert.Equal("default", At(configMap, "data", "Auth__Keys__0__Tenant"));
        foreach (var deployment in objects.Where(o => Equals(At(o, "kind"), "Deployment")))
        {
            var secret = At(ContainerEnv(deployment)["Auth__Keys__0__Hash"], "valueFrom", "secretKeyRef");
            Assert.Equal("fitservice-auth", At(secret, "name"));
            Assert.Equal("keyHash", At(secret, "key"));
        }
    }

    [Fact]
    public void ComposeAtTheDocumentedScaleStaysWithinPostgresConnections()
    {
        var services = ComposeServices();
        var api = Env(services["api"]);
        var worker = Env(services["worker"]);
        var command = string.Join(' ', Strings(At(services["postgres"], "command")));
        var maxConnections = int.Parse(Regex.Match(command, @"max_connections=(\d+)").Groups[1].Value);

        var apiBudget = ConnectionBudget.For(int.Parse(api["Workers__Count"]), 0, api: true).Total;
        var workerBudget = ConnectionBudget.For(int.Parse(worker["Workers__Count"]), int.Parse(worker["Webhooks__Workers"]), api: false).Total;

        // The documented --scale worker=4, with the 3 connections PostgreSQL reserves for superusers and a few for admins.
        Assert.True(apiBudget + 4 * workerBudget + 3 + 5 <= maxConnections, $"api {apiBudget} + 4 × worker {workerBudget} > {maxConnections}");
    }

    [Fact]
    public void KubernetesReplicasStayWithinPostgresDefaultConnections()
    {
        var objects = K8sObjects();
        var deployments = objects.Where(o => (string?)At(o, "kind") == "Deployment").ToList();
        var total = 0;
        foreach (var deployment in deployments)
        {
            var env = ContainerEnv(deployment).ToDictionary(e => e.Key, e => (string?)At(e.Value, "value"));
            var workers = int.Parse(env["Workers__Count"]!);
            var webhooks = env.TryGetValue("Webhooks__Workers", out var w) ? int.Parse(w!) : new FitService.Api.Webhooks.WebhookOptions().Workers;
            var api = !env.TryGetValue("Api__Enabled", out var enabled) || enabled != "false";
            // An autoscaled deployment may grow to its autoscaler's maximum.
            var autoscaler = objects.SingleOrDefault(o => (string?)At(o, "kind") == "HorizontalPodAutoscaler"
                && Equals(At(o, "spec", "scaleTargetRef", "name"), At(deployment, "metadata", "name")));
            var replicas = autoscaler is null ? At(deployment, "spec", "replicas") : At(autoscaler, "spec", "maxReplicas");
            total += int.Parse((string)replicas!) * ConnectionBudget.For(workers, webhooks, api).Total;
        }
        // PostgreSQL's default max_connections is 100, 3 of them reserved for superusers.
        Assert.True(total <= 97 - 5, $"{total} connections at the replicas the manifests set");
    }

    [Fact]
    public void KubernetesPodsAreHardenedAndHaveADisruptionBudgetPerRole()
    {
        var objects = K8sObjects();
        foreach (var deployment in objects.Where(o => Equals(At(o, "kind"), "Deployment")))
        {
            var container = Single(At(deployment, "spec", "template", "spec", "containers"));
            Assert.Equal("false", At(container, "securityContext", "allowPrivilegeEscalation"));
            Assert.Equal("true", At(container, "securityContext", "readOnlyRootFilesystem"));
            Assert.Equal(["ALL"], Strings(At(container, "securityContext", "capabilities", "drop")));
            Assert.Equal("/tmp", At(Single(At(container, "volumeMounts")), "mountPath"));
            Assert.Equal("/health/live", At(container, "startupProbe", "httpGet", "path"));
            var component = (string)At(deployment, "spec", "template", "metadata", "labels", "app.kubernetes.io/component")!;
            Assert.Single(objects, o => Equals(At(o, "kind"), "PodDisruptionBudget")
                                        && Equals(At(o, "spec", "selector", "matchLabels", "app.kubernetes.io/component"), component));
        }
    }

    [Fact]
    public void KustomizationListsEveryManifest()
    {
        var folder = Path.Combine(Root, "deploy", "k8s");
        var listed = Strings(At(LoadYaml("deploy/k8s/kustomization.yaml")[0], "resources"));
        var present = Directory.GetFiles(folder, "*.yaml").Select(Path.GetFileName).Where(f => f != "kustomization.yaml");
        Assert.Equal(present.Order(), listed.Order());
    }

    [Fact]
    public void DockerfilePublishesTheApiProjectAndRunsItsAssemblyAsNonRoot()
    {
        var dockerfile = File.ReadAllLines(Path.Combine(Root, "deploy", "Dockerfile"));
        var publish = Regex.Match(string.Join('\n', dockerfile), @"dotnet publish (\S+)");
        Assert.True(publish.Success, "the Dockerfile publishes nothing");
        var project = Path.Combine(Root, publish.Groups[1].Value);
        Assert.True(File.Exists(project), $"{publish.Groups[1].Value} does not exist");

        var assembly = XDocument.Load(project).Descendants("AssemblyName").Single().Value;
        Assert.Contains(dockerfile, l => l.StartsWith("ENTRYPOINT") && l.Contains($"\"{assembly}.dll\""));
        Assert.Contains(dockerfile, l => l.StartsWith("USER ") && !l.Contains("root"));
        Assert.Contains("EXPOSE 8080", dockerfile);
        Assert.Contains(dockerfile, l => l.Contains("ASPNETCORE_URLS=http://+:8080"));

        // Every file the build copies exists, and restore sees every project the API depends on.
        var copied = dockerfile.Where(l => l.StartsWith("COPY ") && !l.Contains("--from"))
            .SelectMany(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..^1]).ToList();
        Assert.All(copied, c => Assert.True(File.Exists(Path.Combine(Root, c)) || Directory.Exists(Path.Combine(Root, c)), $"COPY {c}: missing"));
        foreach (var dependency in ProjectClosure(project))
        {
            Assert.Contains(Path.GetRelativePath(Root, dependency).Replace('\\', '/'), copied);
        }
    }

    private static Dictionary<string, object?> ComposeServices() =>
        Map(At(LoadYaml("docker-compose.yml")[0], "services")).ToDictionary(s => (string)s.Key, s => (object?)s.Value);

    private static List<object> K8sObjects() =>
        Directory.GetFiles(Path.Combine(Root, "deploy", "k8s"), "*.yaml")
            .Where(f => Path.GetFileName(f) != "kustomization.yaml")
            .SelectMany(f => LoadYaml(Path.GetRelativePath(Root, f))).ToList();

    /// <summary>Every document of a YAML file, anchors and merge keys (<c>&lt;&lt;</c>) resolved.</summary>
    private static List<object> LoadYaml(string relativePath)
    {
        var deserializer = new DeserializerBuilder().Build();
        using var reader = new StringReader(File.ReadAllText(Path.Combine(Root, relativePath)));
        var parser = new MergingParser(new Parser(reader));
        parser.Consume<StreamStart>();
        var documents = new List<object>();
        while (parser.Accept<DocumentStart>(out _))
        {
            if (deserializer.Deserialize<object>(parser) is { } document) documents.Add(document);
        }
        return documents;
    }

    /// <summary>The node at a path of mapping keys, or null when any of them is absent. Scalars come back as strings.</summary>
    private static object? At(object? node, params string[] path)
    {
        foreach (var key in path)
        {
            if (node is not IDictionary<object, object> map || !map.TryGetValue(key, out node)) return null;
        }
        return node;
    }

    private static IDictionary<object, object> Map(object? node) => Assert.IsAssignableFrom<IDictionary<object, object>>(node);

    private static object Single(object? node) => Assert.Single(Assert.IsAssignableFrom<IList<object>>(node));

    private static List<string> Strings(object? node) => Assert.IsAssignableFrom<IList<object>>(node).Cast<string>().ToList();

    /// <summary>A compose service's environment, written as a mapping or as a list of KEY=VALUE.</summary>
    private static Dictionary<string, string> Env(object? service) => At(service, "environment") switch
    {
        IDictionary<object, object> map => map.ToDictionary(e => (string)e.Key, e => (string)e.Value),
        IList<object> list => list.Cast<string>().Select(e => e.Split('=', 2)).ToDictionary(e => e[0], e => e[1]),
        _ => [],
    };

    private static Dictionary<string, object> ContainerEnv(object deployment) =>
        Assert.IsAssignableFrom<IList<object>>(At(Single(At(deployment, "spec", "template", "spec", "containers")), "env"))
            .ToDictionary(e => (string)At(e, "name")!);

    private static IEnumerable<string> ProjectClosure(string project)
    {
        var seen = new HashSet<string>();
        var pending = new Stack<string>([Path.GetFullPath(project)]);
        while (pending.TryPop(out var next))
        {
            if (!seen.Add(next)) continue;
            foreach (var reference in XDocument.Load(next).Descendants("ProjectReference"))
            {
                pending.Push(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(next)!, reference.Attribute("Include")!.Value)));
            }
        }
        return seen;
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FitService.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("FitService.sln not found above " + AppContext.BaseDirectory);
    }
}
