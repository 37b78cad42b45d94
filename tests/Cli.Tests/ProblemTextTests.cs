using System.Net;
using FitService.Cli.Output;

namespace FitService.Cli.Tests;

public class ProblemTextTests
{
    [Fact]
    public void AValidationProblemShowsTitleDetailAndEachFieldErrorOnItsOwnLine()
    {
        var problem = new FitServiceProblemException(HttpStatusCode.BadRequest, "https://tools.ietf.org/html/rfc9110#section-15.5.1",
            "One or more validation errors occurred.", "The fit request is invalid.", null, new Dictionary<string, string[]>
            {
                ["learningRate"] = ["must be > 0"],
                ["y"] = ["length 19 differs from x (20)", "must be finite"],
            });
        var lines = ProblemText.Lines(problem);
        Assert.Equal(
        [
            "Error: One or more validation errors occurred. (HTTP 400)",
            "  The fit request is invalid.",
            "  learningRate: must be > 0",
            "  y: length 19 differs from x (20)",
            "  y: must be finite",
        ], lines);
    }

    [Fact]
    public void ANotFoundProblemShowsItsDetail()
    {
        var problem = new FitServiceProblemException(HttpStatusCode.NotFound, null, "Not Found", "No fit with id 'abc'.", null);
        Assert.Equal(["Error: Not Found (HTTP 404)", "  No fit with id 'abc'."], ProblemText.Lines(problem));
    }

    [Fact]
    public void AnUnauthorizedAnswerSaysHowToPassAKey()
    {
        var lines = ProblemText.Lines(new FitServiceProblemException(HttpStatusCode.Unauthorized, null, "Unauthorized", null, null));
        Assert.Equal("Error: Unauthorized (HTTP 401)", lines[0]);
        Assert.Contains("--api-key", lines[^1]);
        Assert.Contains("FITSERVICE_API_KEY", lines[^1]);
    }

    [Fact]
    public void AnUnreachableServiceSaysWhereItLooked()
    {
        var lines = ProblemText.Lines(new FitServiceUnavailableException(new Uri("http://localhost:5080/"), "Cannot reach FitService at http://localhost:5080/: Connection refused"));
        Assert.Equal("Error: Cannot reach FitService at http://localhost:5080/: Connection refused", lines[0]);
        Assert.Contains("FITSERVICE_URL", lines[1]);
    }
}
