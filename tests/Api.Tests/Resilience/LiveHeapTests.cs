using FitService.Api.Tests.Infrastructure;
using FitService.LoadTest;

namespace FitService.Api.Tests.Resilience;

/// <summary>
/// The load test's reading of the service's live heap (bench/LoadTest/ServiceHeap.cs): a full GC asked for over the
/// diagnostics socket, then the heap size read from the service's own /metrics.
/// </summary>
public sealed class LiveHeapTests
{
    [Fact]
    public async Task AFullGcIsAskedForAndTheHeapReadAfterIt()
    {
        var folder = Directory.CreateTempSubdirectory("fitservice-liveheap-").FullName;
        try
        {
            await using var service = await ServiceProcess.StartAsync($"Storage:ConnectionString=Data Source={Path.Combine(folder, "fits.db")}");
            var before = await ServiceHeap.ScrapeAsync(service.Client, CancellationToken.None);
            Assert.NotNull(before);

            var first = await ServiceHeap.AfterFullGcAsync(service.ProcessId, service.Client, TimeSpan.FromMinutes(2));
            var second = await ServiceHeap.AfterFullGcAsync(service.ProcessId, service.Client, TimeSpan.FromMinutes(2));

            // Each call is one more gen2 collection than the service had made: the GC was made, not merely waited for.
            Assert.NotNull(first);
            Assert.NotNull(second);
            Assert.True(first.Gen2Collections > before.Gen2Collections, $"{before} then {first}");
            Assert.True(second.Gen2Collections > first.Gen2Collections, $"{first} then {second}");
            Assert.InRange(first.Bytes, 1L << 20, 1L << 30);
            // A process with no diagnostics socket (none has this id) gives no figure rather than a wrong one.
            Assert.Null(await ServiceHeap.AfterFullGcAsync(int.MaxValue, service.Client, TimeSpan.FromSeconds(1)));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void TheHeapIsSummedOverGenerationsAndTheGen2CountRead()
    {
        const string metrics = """
            # TYPE dotnet_gc_collections_total counter
            dotnet_gc_collections_total{otel_scope_name="System.Runtime",gc_heap_generation="gen2"} 7
            dotnet_gc_collections_total{otel_scope_name="System.Runtime",gc_heap_generation="gen1"} 30
            dotnet_gc_last_collection_heap_size_bytes{otel_scope_name="System.Runtime",gc_heap_generation="gen0"} 100
            dotnet_gc_last_collection_heap_size_bytes{otel_scope_name="System.Runtime",gc_heap_generation="gen2"} 2000
            dotnet_gc_last_collection_heap_size_bytes{otel_scope_name="System.Runtime",gc_heap_generation="loh"} 30000
            dotnet_gc_last_collection_heap_size_bytes_other 5
            """;

        Assert.Equal(new LiveHeap(32_100, 7), ServiceHeap.Parse(metrics));
        Assert.Null(ServiceHeap.Parse("dotnet_gc_last_collection_heap_size_bytes 5\n"));
    }
}
