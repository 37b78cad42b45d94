using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FitService.Engine;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace FitService.Browser.Tests;

/// <summary>The playground at <c>/</c> in a real browser against the live service.</summary>
[Collection(LiveServiceCollection.Name)]
public sealed class PlaygroundTests(LiveService service, ITestOutputHelper output)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Set to 1 to refresh docs/images/*.png (the README's pictures) from this run.</summary>
    private static readonly bool UpdateDocsImages = Environment.GetEnvironmentVariable("UPDATE_DOCS_IMAGES") == "1";

    private async Task<(IPage Page, List<string> Errors)> OpenAsync()
    {
        var page = await service.NewPageAsync();
        var errors = new List<string>();
        page.Console += (_, message) => { if (message.Type == "error") errors.Add($"{message.Text} ({message.Location})"); };
        page.PageError += (_, error) => errors.Add("uncaught: " + error);
        await page.GotoAsync("/", new PageGotoOptions { WaitUntil = WaitUntilState.NetworkIdle });
        await Expect(page.Locator("body")).ToHaveAttributeAsync("data-ready", "true");
        return (page, errors);
    }

    private static string F4(double value) => value.ToString("F4", CultureInfo.InvariantCulture);

    private async Task<double> EvaluateAsync(double[] parameters)
    {
        var response = await service.Client.PostAsJsonAsync("/v1/evaluate",
            new { x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mae", @params = parameters });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("loss").GetDouble();
    }

    private async Task ScreenshotAsync(IPage page, string name, string? docsImage = null, bool fullPage = true)
    {
        var path = Path.Combine(LiveService.Artifacts, name);
        // A standalone SVG document has no scrolling body: a full-page screenshot of it never completes.
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = fullPage });
        output.WriteLine($"screenshot: {path}");
        if (UpdateDocsImages && docsImage is not null)
        {
            var target = Path.Combine(Repository.Root(), "docs", "images", docsImage);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(path, target, overwrite: true);
            output.WriteLine($"updated {target}");
        }
    }

    [BrowserFact]
    public async Task ThePageLoadsWithoutConsoleErrorsShowingTheLessonsStartingLoss()
    {
        var (page, errors) = await OpenAsync();

        await Expect(page.Locator("#points circle")).ToHaveCountAsync(20);
        await Expect(page.Locator("#loss-value")).ToHaveTextAsync("2.4219");
        await Expect(page.Locator("#param-0")).ToHaveValueAsync("1.1");
        await Expect(page.GetByLabel("Degree")).ToHaveValueAsync("2");
        await ScreenshotAsync(page, "loaded.png");
        Assert.Empty(errors);
    }

    [BrowserFact]
    public async Task MovingTheSlidersShowsTheLossTheApiComputesForThoseParams()
    {
        var (page, errors) = await OpenAsync();

        // a by keyboard: five steps of 0.1 to the right.
        await page.Locator("#param-0").FocusAsync();
        for (var i = 0; i < 5; i++) await page.Keyboard.PressAsync("ArrowRight");
        await Expect(page.Locator("#param-0")).ToHaveValueAsync("1.6");
        // b by mouse: a click three quarters along the track (range −10…10).
        var track = (await page.Locator("#param-1").BoundingBoxAsync())!;
        await page.Mouse.ClickAsync(track.X + track.Width * 0.75f, track.Y + track.Height / 2);

        var parameters = new double[3];
        for (var i = 0; i < 3; i++) parameters[i] = double.Parse(await page.Locator($"#param-{i}").InputValueAsync(), CultureInfo.InvariantCulture);
        Assert.Equal(1.6, parameters[0], 9);
        Assert.InRange(parameters[1], 3, 7);
        var expected = F4(await EvaluateAsync(parameters));
        Assert.NotEqual("2.4219", expected);
        await Expect(page.Locator("#loss-value")).ToHaveTextAsync(expected);

        // And with MSE the page and the API still agree.
        await page.GetByLabel("Loss", new() { Exact = true }).SelectOptionAsync("mse");
        var mse = await service.Client.PostAsJsonAsync("/v1/evaluate", new { x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mse", @params = parameters });
        await Expect(page.Locator("#loss-value")).ToHaveTextAsync(F4((await mse.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("loss").GetDouble()));
        Assert.Empty(errors);
    }

    [BrowserFact]
    public async Task FitRunsTheLessonExampleToCompletionAndTheChartShowsTheFinalLoss()
    {
        var (page, errors) = await OpenAsync();
        var polls = 0;
        page.Request += (_, request) => { if (request.Method == "GET" && System.Text.RegularExpressions.Regex.IsMatch(request.Url, "/v1/fits/[0-9a-f]+$")) polls++; };
        var clock = Stopwatch.StartNew();

        await page.GetByLabel("Learning rate", new() { Exact = true }).FillAsync("0.01");
        await page.GetByLabel("Steps", new() { Exact = true }).FillAsync("100");
        await page.GetByRole(AriaRole.Button, new() { Name = "Fit", Exact = true }).ClickAsync();
        await Expect(page.Locator("#final-loss")).Not.ToHaveTextAsync("–", new() { Timeout = 60_000 });
        output.WriteLine($"fit shown after {clock.ElapsedMilliseconds} ms");

        var id = await page.Locator("#final-loss").GetAttributeAsync("data-fit-id");
        var fit = await service.Client.GetFromJsonAsync<JsonElement>($"/v1/fits/{id}", Json);
        Assert.Equal("succeeded", fit.GetProperty("status").GetString());
        Assert.Equal(100, fit.GetProperty("step").GetInt32());
        Assert.Equal(2.4219, fit.GetProperty("history")[0].GetDouble(), 4);
        var loss = F4(fit.GetProperty("loss").GetDouble());
        await Expect(page.Locator("#final-loss")).ToHaveTextAsync(loss);
        await Expect(page.Locator("#loss-chart-final")).ToHaveTextAsync($"final loss {loss}");
        await Expect(page.Locator("#loss-chart #loss-curve")).ToHaveAttributeAsync("d", new System.Text.RegularExpressions.Regex("^M.+L.+"));
        // The sliders now hold the fitted params, so the live loss is the fit's loss.
        await Expect(page.Locator("#loss-value")).ToHaveTextAsync(loss);
        await Expect(page.Locator("#recent li").First).ToContainTextAsync("playground");
        await ScreenshotAsync(page, "playground.png", "playground.png");

        // The fit's server-side plot, as Chromium renders the SVG.
        var plot = await service.NewPageAsync(720, 440);
        var response = await plot.GotoAsync($"/v1/fits/{id}/plot.svg");
        Assert.Equal("image/svg+xml", (await response!.HeaderValueAsync("content-type"))?.Split(';')[0]);
        await Expect(plot.Locator("#title")).ToContainTextAsync($"final loss {loss}");
        await ScreenshotAsync(plot, "plot.png", "plot.png", fullPage: false);
        var lossPlot = await service.NewPageAsync(720, 440);
        await lossPlot.GotoAsync($"/v1/fits/{id}/loss.svg?scale=log");
        await ScreenshotAsync(lossPlot, "loss.png", "loss.png", fullPage: false);

        // The page followed the service's own event stream: no errors, and no polling fallback.
        Assert.Empty(errors);
        Assert.Equal(0, polls);
    }

    [BrowserFact]
    public async Task FitFollowsTheEventStreamWhenTheServiceHasOne()
    {
        var (page, errors) = await OpenAsync();
        var polls = 0;
        page.Request += (_, request) => { if (request.Method == "GET" && System.Text.RegularExpressions.Regex.IsMatch(request.Url, "/v1/fits/[0-9a-f]+$")) polls++; };
        // The stream as API.md's events endpoint sends it: progress events, then the fit resource as the end event.
        await page.RouteAsync("**/v1/fits/*/events", async route =>
        {
            var id = route.Request.Url.Split('/')[^2];
            using var wait = new HttpRequestMessage(HttpMethod.Get, $"/v1/fits/{id}");
            wait.Headers.Add("Prefer", "wait=30");
            var fit = await (await service.Client.SendAsync(wait)).Content.ReadAsStringAsync();
            var body = ": keep-alive\n\n" +
                "event: progress\ndata: {\"step\":40,\"loss\":1.9,\"params\":[1.5,1.2,1.2]}\n\n" +
                "event: progress\ndata: {\"step\":80,\"loss\":1.4,\"params\":[1.9,1.25,1.3]}\n\n" +
                $"event: end\ndata: {fit}\n\n";
            await route.FulfillAsync(new RouteFulfillOptions { Status = 200, ContentType = "text/event-stream", Body = body });
        });

        await page.GetByRole(AriaRole.Button, new() { Name = "Fit", Exact = true }).ClickAsync();
        await Expect(page.Locator("#final-loss")).Not.ToHaveTextAsync("–", new() { Timeout = 60_000 });

        var id = await page.Locator("#final-loss").GetAttributeAsync("data-fit-id");
        var fit = await service.Client.GetFromJsonAsync<JsonElement>($"/v1/fits/{id}", Json);
        await Expect(page.Locator("#final-loss")).ToHaveTextAsync(F4(fit.GetProperty("loss").GetDouble()));
        Assert.Equal(0, polls);
        Assert.Empty(errors);
    }

    [BrowserFact]
    public async Task ASavedApiKeyGoesWithEveryApiRequest()
    {
        var (page, errors) = await OpenAsync();
        var sent = new List<(string Url, string? Authorization)>();
        page.Request += (_, request) =>
        {
            if (request.Url.Contains("/v1/", StringComparison.Ordinal)) sent.Add((request.Url, request.Headers.GetValueOrDefault("authorization")));
        };

        await page.GetByLabel("API key").FillAsync("fs_test_key");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save key" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Fit", Exact = true }).ClickAsync();
        await Expect(page.Locator("#final-loss")).Not.ToHaveTextAsync("–", new() { Timeout = 60_000 });
        await page.ReloadAsync();
        await Expect(page.GetByLabel("API key")).ToHaveValueAsync("fs_test_key");

        Assert.Contains(sent, r => r.Url.EndsWith("/v1/fits", StringComparison.Ordinal));
        Assert.All(sent, r => Assert.Equal("Bearer fs_test_key", r.Authorization));
        Assert.Empty(errors);
    }

    [BrowserFact]
    public async Task TheReluSlidersShowTheApisLossAndAFitWithEightReluLearnsTheCurve()
    {
        var (page, errors) = await OpenAsync();

        // The lesson's two ReLUs: a slope, an offset and a weight each, and the constant.
        await page.GetByLabel("Model", new() { Exact = true }).SelectOptionAsync("relu");
        await Expect(page.Locator("#sliders .slider")).ToHaveCountAsync(7);
        await Expect(page.Locator("#sliders label").First).ToHaveTextAsync("a1");
        await page.Locator("#param-4").FocusAsync(); // v1, the first ReLU's weight
        for (var i = 0; i < 5; i++) await page.Keyboard.PressAsync("ArrowRight");
        var parameters = await page.EvaluateAsync<double[]>("() => state.params");
        var response = await service.Client.PostAsJsonAsync("/v1/evaluate",
            new { x = LessonData.X, y = LessonData.Y, model = new { type = "relu", units = 2 }, loss = "mae", @params = parameters });
        response.EnsureSuccessStatusCode();
        var expected = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("loss").GetDouble();
        await Expect(page.Locator("#loss-value")).ToHaveTextAsync(F4(expected));

        await page.Locator("#fit-relus-units").FillAsync("8");
        await Expect(page.Locator("#fit-relus-button")).ToHaveTextAsync("Fit with 8 ReLUs");
        await page.Locator("#fit-relus-button").ClickAsync();
        await Expect(page.Locator("#final-loss")).Not.ToHaveTextAsync("–", new() { Timeout = 120_000 });

        var id = await page.Locator("#final-loss").GetAttributeAsync("data-fit-id");
        var fit = await service.Client.GetFromJsonAsync<JsonElement>($"/v1/fits/{id}", Json);
        Assert.Equal("succeeded", fit.GetProperty("status").GetString());
        var model = fit.GetProperty("request").GetProperty("model");
        Assert.Equal(("relu", 8), (model.GetProperty("type").GetString(), model.GetProperty("units").GetInt32()));
        var loss = fit.GetProperty("loss").GetDouble();
        Assert.True(loss < fit.GetProperty("history")[0].GetDouble() / 2, $"the loss fell only to {loss}");
        await Expect(page.Locator("#sliders .slider")).ToHaveCountAsync(25);
        await Expect(page.Locator("#loss-value")).ToHaveTextAsync(F4(loss));
        await Expect(page.Locator("#recent li").First).ToContainTextAsync("8 ReLUs, mae, 20 points");
        await ScreenshotAsync(page, "relus.png");
        Assert.Empty(errors);
    }
}
