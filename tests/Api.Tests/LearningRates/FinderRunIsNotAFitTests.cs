using System.Net;
using System.Net.Http.Json;
using FitService.Api.LearningRates;
using FitService.Api.Tests.Infrastructure;
using FitService.Engine;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace FitService.Api.Tests.LearningRates;

/// <summary>
/// A finder run shares the fits table, but the store never hands it out as a fit: every <c>/v1/fits/{id}…</c> route
/// (read from the app's own route table, so a new route is covered the day it is added) answers 404 for its id.
/// </summary>
public sealed class FinderRunIsNotAFitTests(FinderRunIsNotAFitTests.Service factory) : IClassFixture<FinderRunIsNotAFitTests.Service>
{
    public sealed class Service() : FitServiceFactory(("Workers:Count", "2"));

    private readonly HttpClient _client = factory.CreateClient();

    [Fact]
    public async Task EveryFitRouteAnswers404ForAFinderRunsId()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/lr-finder")
        {
            Content = JsonContent.Create(new { x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mse", initialParams = new[] { 1.1, 1.1, 1.1 } }),
        };
        request.Headers.TryAddWithoutValidation("Prefer", "wait=30");
        var run = (await (await _client.SendAsync(request)).Content.ReadFromJsonAsync<LearningRateFinderResource>(TestApi.Json))!;
        Assert.Equal("succeeded", run.Status);

        var routes = factory.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.TrimStart('/').StartsWith("v1/fits/{id}", StringComparison.Ordinal) == true)
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => (Method: m, Path: "/" + e.RoutePattern.RawText!.TrimStart('/'))))
            .ToList();
        Assert.True(routes.Count >= 9, $"only {routes.Count} routes found: {string.Join(", ", routes)}");

        foreach (var (method, path) in routes)
        {
            var response = await _client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path.Replace("{id}", run.Id)));
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{method} {path}: {(int)response.StatusCode}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync($"/v1/lr-finder/{run.Id}")).StatusCode);
    }

    [Fact]
    public async Task TheEndOfAFinderRunMakesNoWebhookEvent()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/lr-finder")
        {
            Content = JsonContent.Create(new { x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mse" }),
        };
        request.Headers.TryAddWithoutValidation("Prefer", "wait=30");
        var run = (await (await _client.SendAsync(request)).Content.ReadFromJsonAsync<LearningRateFinderResource>(TestApi.Json))!;

        // Its request is not a fit's: reading it as one used to throw in the fit-ended handler.
        Assert.Null(await factory.Services.GetRequiredService<Api.Webhooks.WebhookEvents>().CreateAsync(run.Id, CancellationToken.None));
    }
}
