using System.Collections.Concurrent;
using System.Diagnostics;
using FitService.Api.Webhooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FitService.Api.Tests.Webhooks;

/// <summary>What a receiver saw: the Standard Webhooks headers, the raw body, whether the signature verified, when, and the W3C <c>traceparent</c> headers.</summary>
public sealed record ReceivedWebhook(string Id, string Timestamp, string Signature, string Body, bool SignatureValid, DateTimeOffset At,
    string[]? TraceParents = null);

/// <summary>How the receiver answers one request: a status code, after a delay.</summary>
public sealed record Answer(int Status, TimeSpan Delay = default, string? Location = null);

/// <summary>
/// A real HTTP receiver: Kestrel on 127.0.0.1 with a free port (the only address tests may send to). Each test takes
/// its own path, scripts the answers (then 200), and reads back what arrived, signatures checked by the spec's algorithm.
/// </summary>
public sealed class LoopbackReceiver : IAsyncDisposable
{
    public const string Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, ConcurrentQueue<Answer>> _scripts = new();
    private readonly ConcurrentDictionary<string, List<ReceivedWebhook>> _received = new();

    private LoopbackReceiver(WebApplication app) => _app = app;

    public string BaseUrl { get; private set; } = "";

    public static async Task<LoopbackReceiver> StartAsync(string secret = Secret)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new LoopbackReceiver(app);
        app.MapPost("/{**path}", async (HttpContext http, string path) =>
        {
            using var reader = new StreamReader(http.Request.Body);
            var body = await reader.ReadToEndAsync();
            var id = http.Request.Headers["webhook-id"].ToString();
            var timestamp = http.Request.Headers["webhook-timestamp"].ToString();
            var signature = http.Request.Headers["webhook-signature"].ToString();
            var valid = long.TryParse(timestamp, out var ts) && WebhookSigner.Verify(secret, id, ts, System.Text.Encoding.UTF8.GetBytes(body), signature);
            var list = receiver._received.GetOrAdd(path, _ => []);
            var traceParents = http.Request.Headers["traceparent"].Select(v => v ?? "").ToArray();
            lock (list) list.Add(new ReceivedWebhook(id, timestamp, signature, body, valid, DateTimeOffset.UtcNow, traceParents));
            var answer = receiver._scripts.TryGetValue(path, out var script) && script.TryDequeue(out var next) ? next : new Answer(200);
            if (answer.Delay > TimeSpan.Zero) await Task.Delay(answer.Delay, http.RequestAborted);
            if (answer.Location is not null) http.Response.Headers.Location = answer.Location;
            return Results.StatusCode(answer.Status);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver.BaseUrl = address.TrimEnd('/');
        return receiver;
    }

    /// <summary>A fresh path on this receiver that answers <paramref name="answers"/> in turn, then 200.</summary>
    public string NewHook(params Answer[] answers)
    {
        var path = "hook/" + Guid.NewGuid().ToString("N");
        _scripts[path] = new ConcurrentQueue<Answer>(answers);
        return path;
    }

    public string Url(string path) => $"{BaseUrl}/{path}";

    public IReadOnlyList<ReceivedWebhook> Received(string path)
    {
        if (!_received.TryGetValue(path, out var list)) return [];
        lock (list) return list.ToList();
    }

    /// <summary>Waits until <paramref name="count"/> requests arrived at <paramref name="path"/>.</summary>
    public async Task<IReadOnlyList<ReceivedWebhook>> WaitForAsync(string path, int count, int seconds = 30)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var got = Received(path);
            if (got.Count >= count) return got;
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(seconds), $"{got.Count} of {count} webhooks arrived at {path} within {seconds} s");
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
