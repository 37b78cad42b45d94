extern alias example;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using FitService.Client;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using LessonResult = example::FitService.Examples.ClientService.LessonEndpoints.LessonResult;

namespace FitService.Client.Tests;

/// <summary>examples/ClientService, on its own loopback port, calling the live FitService through the client and receiving its signed webhook.</summary>
[Collection(LiveFitServiceCollection.Name)]
public sealed class ExampleServiceTests(LiveFitService service) : IDisposable
{
    private readonly WebApplicationFactory<example::Program> _example = Start(service);

    private static WebApplicationFactory<example::Program> Start(LiveFitService service)
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        var factory = new WebApplicationFactory<example::Program>().WithWebHostBuilder(builder =>
        {
            builder.UseSetting("FitService:BaseAddress", service.Url.AbsoluteUri);
            builder.UseSetting("FitService:WebhookSecret", LiveFitService.WebhookSecret);
            builder.UseSetting("FitService:PublicUrl", $"http://127.0.0.1:{port}/");
            builder.UseSetting("urls", $"http://127.0.0.1:{port}");
        });
        factory.UseKestrel();
        factory.StartServer();
        return factory;
    }

    public void Dispose() => _example.Dispose();

    [Fact]
    public async Task TheExampleRunsTheLessonAndReceivesFitServicesSignedWebhook()
    {
        using var http = _example.CreateClient();
        var response = await http.PostAsync("/fit-lesson", null);
        response.EnsureSuccessStatusCode();
        var lesson = (await response.Content.ReadFromJsonAsync<LessonResult>(FitServiceJson.Options))!;
        Assert.Equal("succeeded", lesson.Status);
        Assert.Equal(2.4219, Math.Round(lesson.FirstLoss!.Value, 4));

        // The webhook arrives shortly after the fit ends: ask until it is there (a minute is far more than it takes)
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        HttpResponseMessage received;
        while ((received = await http.GetAsync($"/received/{lesson.FitId}", timeout.Token)).StatusCode == HttpStatusCode.NotFound)
            await Task.Delay(TimeSpan.FromMilliseconds(100), timeout.Token);
        var payload = (await received.Content.ReadFromJsonAsync<WebhookPayload>(FitServiceJson.Options))!;
        Assert.Equal("fit.succeeded", payload.Type);
        Assert.Equal(lesson.Loss, payload.Data.Loss);
    }

    [Fact]
    public async Task TheExampleRefusesAWebhookWithoutAValidSignature()
    {
        using var http = _example.CreateClient();
        var body = new StringContent("""{"type":"fit.succeeded","timestamp":"2026-11-30T12:00:00.000Z","data":{}}""", Encoding.UTF8, "application/json");
        body.Headers.Add("webhook-id", "msg_forged");
        body.Headers.Add("webhook-timestamp", DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString());
        body.Headers.Add("webhook-signature", "v1," + Convert.ToBase64String(new byte[32]));
        var response = await http.PostAsync("/webhooks/fitservice", body);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task FitServicesFieldErrorsReachTheExamplesCaller()
    {
        using var http = _example.CreateClient();
        var response = await http.PostAsync("/fit-lesson?learningRate=-1", null);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(problem.RootElement.GetProperty("errors").TryGetProperty("learningRate", out _));
    }
}
