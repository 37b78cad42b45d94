using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FitService.Api.Fits;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace FitService.Api.Tests.Infrastructure;

/// <summary>
/// The whole service in memory over a real SQLite file in its own temporary folder. Settings are configuration
/// keys exactly as in appsettings.json (<c>Workers:Count</c>, <c>Limits:MaxPoints</c>, …).
/// </summary>
public class FitServiceFactory : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings;
    private readonly bool _ownsFolder;

    public FitServiceFactory(string? dataFolder = null, params (string Key, string? Value)[] settings)
    {
        _ownsFolder = dataFolder is null;
        DataFolder = dataFolder ?? Directory.CreateTempSubdirectory("fitservice-test-").FullName;
        _settings = settings.ToDictionary(s => s.Key, s => s.Value);
    }

    public FitServiceFactory(params (string Key, string? Value)[] settings) : this(null, settings) { }

    public string DataFolder { get; }

    public string DatabasePath => Path.Combine(DataFolder, "fits.db");

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("Storage:ConnectionString", $"Data Source={DatabasePath}");
        builder.UseSetting("Workers:Count", "2");
        foreach (var (key, value) in _settings) builder.UseSetting(key, value);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && _ownsFolder)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(DataFolder, recursive: true); } catch (IOException) { }
        }
    }
}

/// <summary>Requests and payloads that tests share.</summary>
public static class TestApi
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>A small fit that runs in well under a second.</summary>
    public static object SmallFit(int steps = 100, string loss = "mse", string? label = null) => new
    {
        x = new[] { -2.0, -1.0, 0.0, 1.0, 2.0 },
        y = new[] { 9.0, 2.0, 1.0, 6.0, 17.0 },
        degree = 2,
        loss,
        learningRate = 0.01,
        steps,
        label,
    };

    /// <summary>The lesson's points repeated <paramref name="times"/> times: the same fit, more work per step (for fits that must still be running when a test acts).</summary>
    public static (double[] X, double[] Y) TiledLesson(int times) =>
        (Enumerable.Repeat(FitService.Engine.LessonData.X, times).SelectMany(v => v).ToArray(),
         Enumerable.Repeat(FitService.Engine.LessonData.Y, times).SelectMany(v => v).ToArray());

    public static StringContent JsonBody(string json) => new(json, Encoding.UTF8, "application/json");

    public static Task<HttpResponseMessage> PostFit(this HttpClient client, object body, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/fits") { Content = JsonContent.Create(body) };
        foreach (var (name, value) in headers) request.Headers.TryAddWithoutValidation(name, value);
        return client.SendAsync(request);
    }

    public static async Task<FitResource> ReadFit(this HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<FitResource>(Json))!;

    public static async Task<FitResource> WaitForEnd(this HttpClient client, string id, int seconds = 30)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/fits/{id}");
        request.Headers.TryAddWithoutValidation("Prefer", $"wait={seconds}");
        var response = await client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return await response.ReadFit();
    }

    /// <summary>A fit's whole history, paged from <c>/history</c> (a fit resource inlines only its first entries).</summary>
    public static async Task<double[]> WholeHistory(this HttpClient client, string id)
    {
        var entries = new List<double>();
        while (true)
        {
            var page = (await client.GetFromJsonAsync<HistoryPage>($"/v1/fits/{id}/history?offset={entries.Count}&limit=100000", Json))!;
            entries.AddRange(page.Items.Select(e => e.Loss ?? double.NaN));
            if (page.Items.Count == 0 || entries.Count >= page.Total) return [.. entries];
        }
    }

    public static async Task<JsonElement> ReadProblem(this HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }
}
