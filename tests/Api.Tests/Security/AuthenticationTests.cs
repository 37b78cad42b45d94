using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FitService.Api.Fits;
using FitService.Api.Security;
using FitService.Api.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace FitService.Api.Tests.Security;

/// <summary>With keys configured, only a valid key gets into /v1, and each tenant sees and touches only its own fits.</summary>
public sealed class AuthenticationTests(AuthenticationTests.KeyedService factory) : IClassFixture<AuthenticationTests.KeyedService>
{
    public sealed class KeyedService() : FitServiceFactory(Keys.Configured(("Workers:Count", "0")));

    private HttpClient Client(string? key = null) => key is null ? factory.CreateClient() : factory.CreateClient().WithKey(key);

    [Theory]
    [InlineData("GET", "/v1/fits")]
    [InlineData("POST", "/v1/fits")]
    [InlineData("GET", "/v1/fits/0193f2c4a1b27c3d9e4f5a6b7c8d9e0f")]
    [InlineData("GET", "/v1/fits/0193f2c4a1b27c3d9e4f5a6b7c8d9e0f/history")]
    [InlineData("POST", "/v1/fits/0193f2c4a1b27c3d9e4f5a6b7c8d9e0f/cancel")]
    [InlineData("DELETE", "/v1/fits/0193f2c4a1b27c3d9e4f5a6b7c8d9e0f")]
    [InlineData("GET", "/v1/an-endpoint-added-later")]
    public async Task EveryV1RequestWithoutAKeyIs401WithBearerChallenge(string method, string path)
    {
        var response = await Client().SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = TestApi.JsonBody("{}") });
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        var problem = await response.ReadProblem();
        Assert.Equal(401, problem.GetProperty("status").GetInt32());
        Assert.Empty(await factory.Services.GetRequiredService<Api.Storage.IFitStore>().ListAsync("acme", new Api.Storage.FitQuery(null, null, 10, null), default));
    }

    [Theory]
    [InlineData("Bearer fs_wrong")]
    [InlineData("Bearer ")]
    [InlineData("Basic YWNtZTpmc19hY21lLXRlc3Qta2V5")]
    [InlineData("fs_acme-test-key")]
    [InlineData("Bearer fs_acme-test-keyX")]
    [InlineData("Bearer fs_acme-test-ke")]
    public async Task AWrongOrMalformedKeyIs401(string authorization)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/v1/fits");
        request.Headers.TryAddWithoutValidation("Authorization", authorization);
        var response = await Client().SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("Bearer", response.Headers.WwwAuthenticate.ToString());
        await response.ReadProblem();
    }

    [Fact]
    public async Task AValidKeyGetsIn()
    {
        Assert.Equal(HttpStatusCode.OK, (await Client(Keys.Acme).GetAsync("/v1/fits")).StatusCode);
    }

    [Fact]
    public async Task AnotherTenantsFitAnswersExactlyLikeAnUnknownId()
    {
        var acme = Client(Keys.Acme);
        var globex = Client(Keys.Globex);
        var fit = await (await acme.PostFit(TestApi.SmallFit(label: "acme's"))).ReadFit();
        var unknown = Guid.CreateVersion7().ToString("N");

        foreach (var (method, path) in new[] { ("GET", "/v1/fits/{0}"), ("GET", "/v1/fits/{0}/history"), ("POST", "/v1/fits/{0}/cancel"), ("DELETE", "/v1/fits/{0}") })
        {
            var theirs = await globex.SendAsync(new HttpRequestMessage(new HttpMethod(method), string.Format(path, fit.Id)));
            var missing = await globex.SendAsync(new HttpRequestMessage(new HttpMethod(method), string.Format(path, unknown)));
            Assert.Equal(HttpStatusCode.NotFound, theirs.StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
            Assert.Equal(theirs.Content.Headers.ContentType?.ToString(), missing.Content.Headers.ContentType?.ToString());
            Assert.Equal(await Normalized(missing, unknown), await Normalized(theirs, fit.Id));
        }

        // Untouched by all of that, and invisible in the other tenant's list.
        var mine = await acme.GetFromJsonAsync<FitResource>($"/v1/fits/{fit.Id}", TestApi.Json);
        Assert.Equal("queued", mine!.Status);
        var globexList = await globex.GetFromJsonAsync<JsonElement>("/v1/fits?limit=500");
        Assert.DoesNotContain(globexList.GetProperty("items").EnumerateArray(), f => f.GetProperty("id").GetString() == fit.Id);
        var acmeList = await acme.GetFromJsonAsync<JsonElement>("/v1/fits?limit=500");
        Assert.Contains(acmeList.GetProperty("items").EnumerateArray(), f => f.GetProperty("id").GetString() == fit.Id);
    }

    /// <summary>The body with the id and the per-request trace id taken out.</summary>
    private static async Task<string> Normalized(HttpResponseMessage response, string id)
    {
        var body = System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        body.Remove("traceId");
        return body.ToJsonString().Replace(id, "ID");
    }

    [Fact]
    public async Task TheSameIdempotencyKeyInTwoTenantsMakesTwoFits()
    {
        var a = await (await Client(Keys.Acme).PostFit(TestApi.SmallFit(), ("Idempotency-Key", "shared-key"))).ReadFit();
        var g = await (await Client(Keys.Globex).PostFit(TestApi.SmallFit(), ("Idempotency-Key", "shared-key"))).ReadFit();
        Assert.NotEqual(a.Id, g.Id);
    }

    [Fact]
    public async Task AnAdminKeyOpensTheDashboardButNotTheApi()
    {
        Assert.Equal(HttpStatusCode.Forbidden, (await Client(Keys.Admin).GetAsync("/v1/fits")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Client(Keys.Admin).GetAsync("/hangfire")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await Client(Keys.Acme).GetAsync("/hangfire")).StatusCode);
        var anonymous = await Client().GetAsync("/hangfire");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("Bearer", anonymous.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Fact]
    public async Task HealthAndTheOpenApiDocumentNeedNoKeyAndTheDocumentOffersBearer()
    {
        Assert.Equal(HttpStatusCode.OK, (await Client().GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Client().GetAsync("/health/ready")).StatusCode);
        var document = await Client().GetFromJsonAsync<JsonElement>("/swagger/v1/swagger.json");
        var scheme = document.GetProperty("components").GetProperty("securitySchemes").GetProperty(SwaggerSecurity.SchemeName);
        Assert.Equal("http", scheme.GetProperty("type").GetString());
        Assert.Equal("bearer", scheme.GetProperty("scheme").GetString());
        var submit = document.GetProperty("paths").GetProperty("/v1/fits").GetProperty("post");
        Assert.True(submit.GetProperty("security")[0].TryGetProperty(SwaggerSecurity.SchemeName, out _));
        Assert.True(submit.GetProperty("responses").TryGetProperty("401", out _));
    }

    [Fact]
    public void TheKeysCommandPrintsAKeyAndTheHashThatAcceptsIt()
    {
        var output = new StringWriter();
        Assert.Equal(0, KeysCommand.Run(["keys", "new", "--tenant", "acme"], output, TextWriter.Null));
        var text = output.ToString();
        var key = text.Split('\n')[0].Split(": ")[1].Trim();
        Assert.StartsWith("fs_", key);
        Assert.True(key.Length >= 40);
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
        Assert.Contains("Auth__Keys__0__Tenant=acme", text);
        Assert.Contains($"Auth__Keys__0__Hash={hash}", text);
        Assert.Contains($"\"Hash\": \"{hash}\"", text);
        Assert.Equal(2, KeysCommand.Run(["keys", "new"], TextWriter.Null, TextWriter.Null));
    }
}
