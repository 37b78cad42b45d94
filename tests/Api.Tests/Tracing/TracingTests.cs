using System.Collections.Concurrent;
using System.Diagnostics;
using FitService.Api.Tests.Infrastructure;
using FitService.Api.Tests.Webhooks;
using FitService.Api.Tracing;

namespace FitService.Api.Tests.Tracing;

/// <summary>
/// One fit is one trace: the request that submits it, the worker's run, the engine, and the webhook request the receiver
/// gets share one trace id, in the embedded mode and when the worker is another host or process on PostgreSQL (where the
/// traceparent has to survive the database).
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class TracingTests(PostgresCluster cluster)
{
    /// <summary>Records every span of the service's source and of ASP.NET Core's (tests run in parallel: filter by trace id).</summary>
    private sealed class SpanRecorder : IDisposable
    {
        private readonly ActivityListener _listener;
        private readonly ConcurrentQueue<Activity> _spans = new();

        public SpanRecorder()
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name is FitTracing.SourceName or "Microsoft.AspNetCore",
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = _spans.Enqueue,
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public IReadOnlyList<Activity> Of(ActivityTraceId trace) => _spans.Where(s => s.TraceId == trace).ToList();

        /// <summary>Waits until the trace's ended spans satisfy <paramref name="done"/> (spans stop after the answers they lead to).</summary>
        public async Task<IReadOnlyList<Activity>> WaitForAsync(ActivityTraceId trace, Func<IReadOnlyList<Activity>, bool> done)
        {
            for (var clock = Stopwatch.StartNew(); clock.Elapsed < TimeSpan.FromSeconds(30); await Task.Delay(20))
            {
                if (done(Of(trace))) return Of(trace);
            }
            Assert.Fail($"trace {trace} never got its spans; it has: {string.Join(", ", Of(trace).Select(s => s.OperationName))}");
            return [];
        }

        /// <summary>Waits until the trace has the run, the engine and the webhook spans.</summary>
        public Task<IReadOnlyList<Activity>> WaitForFitAsync(ActivityTraceId trace) => WaitForAsync(trace, all =>
            new[] { "fit.run", "fit.engine", "webhook.deliver" }.All(name => all.Any(s => s.OperationName == name)));

        public void Dispose() => _listener.Dispose();
    }

    private static ActivityTraceId TraceOf(string traceParent)
    {
        Assert.True(ActivityContext.TryParse(traceParent, null, out var context), $"'{traceParent}' is not a W3C traceparent");
        return context.TraceId;
    }

    private static string NewTraceParent(out ActivityTraceId trace)
    {
        trace = ActivityTraceId.CreateRandom();
        return $"00-{trace.ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01";
    }

    [Fact]
    public async Task TheRequestTheRunAndTheWebhookOfAFitAreOneTraceInTheEmbeddedMode()
    {
        using var spans = new SpanRecorder();
        await using var receiver = await LoopbackReceiver.StartAsync();
        await using var service = new FitServiceFactory(WebhookSettings.Loopback());
        var client = service.CreateClient();
        var hook = receiver.NewHook();

        var fit = await (await client.PostFit(WebhookSettings.FitWithWebhook(receiver.Url(hook)))).ReadFit();
        var received = (await receiver.WaitForAsync(hook, 1)).Single();

        var traceParent = Assert.Single(received.TraceParents!);
        var trace = TraceOf(traceParent);
        // Two server spans: the service's (the POST) and the receiver's (a Kestrel app in this process, which continues the header).
        var all = await spans.WaitForAsync(trace, got => got.Any(s => s.OperationName == "webhook.deliver")
            && got.Count(s => s.Source.Name == "Microsoft.AspNetCore" && s.Kind == ActivityKind.Server) == 2);
        // The trace begins with the request that submitted the fit; the run and the webhook hang under it.
        var request = Assert.Single(all, s => s.Source.Name == "Microsoft.AspNetCore" && s.ParentSpanId == default);
        var run = Assert.Single(all, s => s.OperationName == "fit.run");
        Assert.Equal(fit.Id, run.GetTagItem("fit.id"));
        Assert.Equal(request.SpanId, run.ParentSpanId);
        Assert.Contains(all, s => s.OperationName == "fit.engine" && s.ParentSpanId == run.SpanId);
        var webhook = Assert.Single(all, s => s.OperationName == "webhook.deliver");
        Assert.Equal(request.SpanId, webhook.ParentSpanId);
        // The receiver is told the attempt's own span, so whatever it does hangs under the delivery.
        Assert.Equal(webhook.Id, traceParent);
        Assert.Contains(all, s => s.Source.Name == "Microsoft.AspNetCore" && s.ParentSpanId == webhook.SpanId);
    }

    [Fact]
    public async Task AClientsTraceparentIsContinuedByTheFitAndItsWebhook()
    {
        using var spans = new SpanRecorder();
        await using var receiver = await LoopbackReceiver.StartAsync();
        await using var service = new FitServiceFactory(WebhookSettings.Loopback());
        var client = service.CreateClient();
        var hook = receiver.NewHook();

        var clientSpan = NewTraceParent(out var trace);
        await client.PostFit(WebhookSettings.FitWithWebhook(receiver.Url(hook)), ("traceparent", clientSpan));
        var received = (await receiver.WaitForAsync(hook, 1)).Single();

        Assert.Equal(trace, TraceOf(Assert.Single(received.TraceParents!)));
        var all = await spans.WaitForFitAsync(trace);
        Assert.Contains(all, s => s.Source.Name == "Microsoft.AspNetCore" && s.ParentSpanId.ToHexString() == clientSpan.Split('-')[2]);
    }

    [PostgresFact]
    public async Task AFitRunByAWorkerHostOnPostgresIsOneTraceWithItsRequestAndWebhook()
    {
        using var spans = new SpanRecorder();
        await using var receiver = await LoopbackReceiver.StartAsync();
        var database = await cluster.CreateDatabaseAsync("tracing");
        (string, string?)[] shared = [("Storage:Provider", "postgres"), ("Storage:ConnectionString", database), .. WebhookSettings.Loopback()];
        await using var api = new FitServiceFactory([.. shared, ("Workers:Count", "0")]);
        await using var worker = new FitServiceFactory([.. shared, ("Api:Enabled", "false"), ("Workers:Count", "2")]);
        worker.CreateClient();
        var client = api.CreateClient();

        // A small fit (run by a drain job, which claims many at once) and a big one (a job of its own).
        var (x, y) = TestApi.TiledLesson(400);
        var small = receiver.NewHook();
        var big = receiver.NewHook();
        var smallSpan = NewTraceParent(out var smallTrace);
        var bigSpan = NewTraceParent(out var bigTrace);
        await client.PostFit(WebhookSettings.FitWithWebhook(receiver.Url(small)), ("traceparent", smallSpan));
        await client.PostFit(new { x, y, degree = 2, loss = "mse", learningRate = 0.01, steps = 2_000, webhook = new { url = receiver.Url(big) } },
            ("traceparent", bigSpan));

        foreach (var (hook, trace) in new[] { (small, smallTrace), (big, bigTrace) })
        {
            var received = (await receiver.WaitForAsync(hook, 1)).Single();
            Assert.Equal(trace, TraceOf(Assert.Single(received.TraceParents!)));
            await spans.WaitForFitAsync(trace);
        }
    }

    [PostgresFact]
    public async Task TheTraceparentCrossesRealProcessesThroughTheDatabase()
    {
        await using var receiver = await LoopbackReceiver.StartAsync();
        var database = await cluster.CreateDatabaseAsync("tracingprocesses");
        string[] shared =
        [
            "Storage:Provider=postgres", $"Storage:ConnectionString={database}",
            .. WebhookSettings.Loopback().Select(s => $"{s.Item1}={s.Item2}"),
        ];
        await using var api = await ServiceProcess.StartAsync([.. shared, "Workers:Count=0"]);
        await using var worker = await ServiceProcess.StartAsync([.. shared, "Api:Enabled=false", "Workers:Count=2"]);
        var hook = receiver.NewHook();

        var clientSpan = NewTraceParent(out var trace);
        var response = await api.Client.PostFit(WebhookSettings.FitWithWebhook(receiver.Url(hook)), ("traceparent", clientSpan));
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {api.Output}");
        var received = (await receiver.WaitForAsync(hook, 1, seconds: 60)).Single();

        var traceParent = Assert.Single(received.TraceParents!);
        Assert.Equal(trace, TraceOf(traceParent));
        Assert.NotEqual(clientSpan, traceParent);
    }
}
