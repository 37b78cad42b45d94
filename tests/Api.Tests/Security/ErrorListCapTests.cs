using System.Net;
using System.Text;
using FitService.Api.Fits;
using FitService.Api.Tests.Infrastructure;

namespace FitService.Api.Tests.Security;

/// <summary>A 400 lists at most <see cref="ValidationErrors.MaxListed"/> errors and counts the rest, whatever the body holds.</summary>
public sealed class ErrorListCapTests(ErrorListCapTests.Service factory) : IClassFixture<ErrorListCapTests.Service>
{
    public sealed class Service() : FitServiceFactory(("Workers:Count", "1"));

    private readonly HttpClient _client = factory.CreateClient();

    [Fact]
    public void ErrorsBeyondTheCapAreCountedNotKept()
    {
        var errors = new ValidationErrors();
        for (var i = 0; i < ValidationErrors.MaxListed + 5; i++) errors.Add($"f{i % 3}", $"error {i}");
        var other = new ValidationErrors();
        other.Add("x", "bad");
        for (var i = 0; i < 30; i++) other.Add("y", "bad");

        errors.AddAll("fits[1].", other);

        Assert.Equal(ValidationErrors.MaxListed, errors.ToDictionary().Sum(e => e.Value.Length));
        Assert.Equal(5 + 31, errors.Omitted);
        Assert.Equal("error 0", errors.ToDictionary()["f0"][0]);
    }

    [Fact]
    public async Task SixteenMegabytesOfBadCsvLinesAnswerASmall400WithTheCount()
    {
        var body = new StringBuilder("x,y\n");
        var lines = 0;
        while (body.Length < 16 << 20)
        {
            body.Append("1,a\n");
            lines++;
        }
        var content = new StringContent(body.ToString(), Encoding.UTF8, "text/csv");

        var response = await _client.PostAsync("/v1/fits?degree=1&loss=mse&learningRate=0.1&steps=10", content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(text.Length < 4_000, $"the answer has {text.Length:N0} characters");
        var problem = await response.ReadProblem();
        Assert.Equal(ValidationErrors.MaxListed, problem.GetProperty("errors").GetProperty("body").GetArrayLength());
        Assert.Equal("line 2: column 'y' is 'a', not a finite number", problem.GetProperty("errors").GetProperty("body")[0].GetString());
        // Rows past Limits:MaxPoints (+ 1, to tell "too many") are not read at all: the count covers those read.
        Assert.InRange(problem.GetProperty("errorsOmitted").GetInt64(), 1_000_000 - ValidationErrors.MaxListed, lines - ValidationErrors.MaxListed);
    }

    [Fact]
    public async Task ABatchOfManyInvalidFitsListsTheFirstErrorsAndCountsTheRest()
    {
        var fits = string.Join(",", Enumerable.Repeat("""{"x":[1,2],"y":[1],"degree":-1}""", 500));

        var response = await _client.PostAsync("/v1/batches", TestApi.JsonBody($$"""{"defaults":{"loss":"mse","learningRate":0.1,"steps":5},"fits":[{{fits}}]}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.ReadProblem();
        Assert.Equal(ValidationErrors.MaxListed, problem.GetProperty("errors").EnumerateObject().Sum(p => p.Value.GetArrayLength()));
        Assert.True(problem.GetProperty("errors").TryGetProperty("fits[0].y", out _));
        Assert.True(problem.GetProperty("errorsOmitted").GetInt64() >= 500 * 2 - ValidationErrors.MaxListed);
        Assert.Contains("more were found", problem.GetProperty("detail").GetString());
    }
}
