using System.Net;
using FitService.Cli.Client;
using FitService.Cli.Output;

namespace FitService.Cli.Tests;

public class ProblemTextTests
{
    [Fact]
    public void AValidationProblemShowsTitleDetailAndEachFieldErrorOnItsOwnLine()
    {
        var problem = new ProblemDetails
        {
            Type = "https://tools.ietf.org/html/rfc9110#section-15.5.1",
            Title = "One or more validation errors occurred.",
            Status = 400,
            Detail = "The fit request is invalid.",
            Errors = new()
            {
                ["learningRate"] = ["must be > 0"],
                ["y"] = ["length 19 differs from x (20)", "must be finite"],
            },
        };
        var lines = ProblemText.Lines(new FitServiceException(HttpStatusCode.BadRequest, problem));
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
        var problem = new ProblemDetails { Title = "Not Found", Status = 404, Detail = "No fit with id 'abc'." };
        Assert.Equal(["Error: Not Found (HTTP 404)", "  No fit with id 'abc'."], ProblemText.Lines(new FitServiceException(HttpStatusCode.NotFound, problem)));
    }

    [Fact]
    public void AnUnauthorizedAnswerSaysHowToPassAKey()
    {
        var lines = ProblemText.Lines(new FitServiceException(HttpStatusCode.Unauthorized, new ProblemDetails { Title = "Unauthorized", Status = 401 }));
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
