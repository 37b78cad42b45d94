using FitService.Api.Tests.Infrastructure;
using YamlDotNet.Serialization;

namespace FitService.Api.Tests.Deploy;

/// <summary>The worker autoscaler reads a metric the service really serves, and scales the workers only.</summary>
public sealed class AutoscalingTests
{
    private static Dictionary<object, object> Autoscaler()
    {
        var text = File.ReadAllText(Path.Combine(RepositoryRoot.Path, "deploy", "k8s", "hpa.yaml"));
        return Assert.IsType<Dictionary<object, object>>(new DeserializerBuilder().Build().Deserialize<object>(text));
    }

    private static object? At(object? node, params string[] path)
    {
        foreach (var key in path) node = node is IDictionary<object, object> map && map.TryGetValue(key, out var next) ? next : null;
        return node;
    }

    private static bool HasSeries(string scrape, string name) => scrape.Split('\n').Any(line => line.StartsWith(name + "{", StringComparison.Ordinal));

    [Fact]
    public async Task WorkersScaleOnTheQueueDepthGaugeThatMetricsServes()
    {
        var hpa = Autoscaler();
        Assert.Equal("autoscaling/v2", At(hpa, "apiVersion"));
        Assert.Equal("fitservice-worker", At(hpa, "spec", "scaleTargetRef", "name"));
        var metric = Assert.Single(Assert.IsAssignableFrom<IList<object>>(At(hpa, "spec", "metrics")));
        var name = (string)At(metric, "external", "metric", "name")!;

        await using var service = new FitServiceFactory();
        var client = service.CreateClient();
        // The exporter answers from its last collection: the first scrape may come before the gauges were read.
        var scrape = "";
        for (var clock = System.Diagnostics.Stopwatch.StartNew(); !HasSeries(scrape, name) && clock.Elapsed < TimeSpan.FromSeconds(30); await Task.Delay(100))
        {
            scrape = await client.GetStringAsync("/metrics");
        }
        Assert.True(HasSeries(scrape, name), $"no series {name} on /metrics:\n{scrape}");
        Assert.True(int.Parse((string)At(hpa, "spec", "minReplicas")!) <= int.Parse((string)At(hpa, "spec", "maxReplicas")!));
    }
}
