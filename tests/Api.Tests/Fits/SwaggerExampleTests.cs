using System.Net.Http.Json;
using System.Text.Json;
using FitService.Api.Tests.Infrastructure;

namespace FitService.Api.Tests.Fits;

/// <summary>Swagger UI's "Try it out" on <c>POST /v1/fits</c> starts from the lesson, as the README promises.</summary>
public sealed class SwaggerExampleTests(SwaggerExampleTests.Service factory) : IClassFixture<SwaggerExampleTests.Service>
{
    public sealed class Service() : FitServiceFactory(("Workers:Count", "0"));

    [Fact]
    public async Task TheFirstSubmitExampleIsTheLessonAndAMinimalOneFollows()
    {
        var document = await factory.CreateClient().GetFromJsonAsync<JsonElement>("/swagger/v1/swagger.json");

        var json = document.GetProperty("paths").GetProperty("/v1/fits").GetProperty("post").GetProperty("requestBody")
            .GetProperty("content").GetProperty("application/json");
        Assert.False(json.TryGetProperty("example", out _)); // beside "examples" it would be ignored anyway
        var examples = json.GetProperty("examples").EnumerateObject().ToList();
        Assert.Equal("lesson", examples[0].Name);
        Assert.Equal("lesson example", examples[0].Value.GetProperty("value").GetProperty("label").GetString());
        Assert.Equal(["x", "y"], examples[1].Value.GetProperty("value").EnumerateObject().Select(p => p.Name));
    }
}
