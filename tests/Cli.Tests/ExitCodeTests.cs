using System.Net;
using System.Net.Sockets;
using FitService.Cli.Commands;
using FitService.Cli.Input;
using Spectre.Console;

namespace FitService.Cli.Tests;

public class ExitCodeTests : IDisposable
{
    private readonly string _points = Path.Combine(Path.GetTempPath(), $"fitctl-{Guid.NewGuid():N}.csv");
    private readonly StringWriter _out = new();
    private readonly StringWriter _err = new();

    public ExitCodeTests() => File.WriteAllText(_points, "x,y\n0,1\n1,6\n2,17\n");

    public void Dispose() => File.Delete(_points);

    private Task<int> Run(string commandLine, Func<string, string?>? environment = null) =>
        FitCtl.RunAsync(commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries), CliContext.ForWriters(_out, _err, environment ?? (_ => null)));

    /// <summary>A loopback port nobody listens on: connections to it are refused at once.</summary>
    private static string ClosedPortUrl()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return $"http://127.0.0.1:{port}";
    }

    [Theory]
    [InlineData("fit")]
    [InlineData("fit {0} --degree 2 --formula a*x --params a")]
    [InlineData("fit {0} --degree two --loss mae --lr 0.01 --steps 10")]
    [InlineData("fitt {0}")]
    [InlineData("list --status done")]
    public async Task ParseErrorsExitWithTwoAndSayWhatIsWrong(string commandLine)
    {
        Assert.Equal(ExitCodes.Usage, await Run(string.Format(commandLine, _points)));
        Assert.NotEmpty(_err.ToString());
        Assert.Contains("--help", _err.ToString());
        Assert.Empty(_out.ToString());
    }

    [Fact]
    public async Task ABadPointsFileExitsWithTwoNamingTheLine()
    {
        File.WriteAllText(_points, "x,y\n1,2\n3,oops\n");
        Assert.Equal(ExitCodes.Usage, await Run($"fit {_points} --degree 1 --loss mse --lr 0.1 --steps 5 --server {ClosedPortUrl()}"));
        Assert.Contains($"{_points}:3: y is not a number: 'oops'", _err.ToString());
    }

    [Fact]
    public async Task ContradictoryOptionsExitWithTwo()
    {
        Assert.Equal(ExitCodes.Usage, await Run($"fit {_points} --degree 1 --loss mse --lr 0.1 --steps 5 --every 3"));
        Assert.Contains("--every applies to --schedule step", _err.ToString());
    }

    [Fact]
    public async Task ABadServerUrlExitsWithTwo()
    {
        Assert.Equal(ExitCodes.Usage, await Run("get abc --server localhost:5080"));
        Assert.Contains("--server must be an http:// or https:// URL", _err.ToString());
    }

    [Fact]
    public async Task AnUnreachableServiceExitsWithThreeAndNoStackTrace()
    {
        var url = ClosedPortUrl();
        Assert.Equal(ExitCodes.ServiceError, await Run($"fit {_points} --degree 2 --loss mae --lr 0.01 --steps 10 --server {url}"));
        var error = _err.ToString();
        Assert.StartsWith($"Error: Cannot reach FitService at {url}/", error);
        Assert.DoesNotContain("   at ", error);
    }

    [Fact]
    public async Task TheServerComesFromTheEnvironmentWhenNotGiven()
    {
        var url = ClosedPortUrl();
        Assert.Equal(ExitCodes.ServiceError, await Run("list", name => name == GlobalOptions.UrlVariable ? url : null));
        Assert.Contains($"Cannot reach FitService at {url}/", _err.ToString());
    }

    [Theory]
    [InlineData(HttpStatusCode.BadRequest, ExitCodes.Usage)]
    [InlineData(HttpStatusCode.UnprocessableEntity, ExitCodes.Usage)]
    [InlineData(HttpStatusCode.NotFound, ExitCodes.ServiceError)]
    [InlineData(HttpStatusCode.Conflict, ExitCodes.ServiceError)]
    [InlineData(HttpStatusCode.Unauthorized, ExitCodes.ServiceError)]
    [InlineData(HttpStatusCode.InternalServerError, ExitCodes.ServiceError)]
    public void ServiceErrorsMapToExitCodes(HttpStatusCode status, int exitCode)
    {
        var error = new FitServiceProblemException(status, null, "t", null, null);
        Assert.Equal(exitCode, CommandRunner.Fail(error, AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(TextWriter.Null) })));
    }

    [Fact]
    public void AnInterruptionExitsWith130()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(TextWriter.Null) });
        Assert.Equal(ExitCodes.Interrupted, CommandRunner.Fail(new OperationCanceledException(cancelled.Token), console, cancelled.Token));
        Assert.Equal(ExitCodes.Usage, CommandRunner.Fail(new PointsFormatException("p.csv", 2, "bad"), console));
    }

    [Theory]
    [InlineData("succeeded", ExitCodes.Success)]
    [InlineData("failed", ExitCodes.FitFailed)]
    [InlineData("cancelled", ExitCodes.FitFailed)]
    public void AFitThatDidNotSucceedExitsWithOne(string status, int exitCode)
    {
        Assert.Equal(exitCode, FitCommand.ExitCode(new FitResource { Id = "f", Status = status, OptimumStatus = "ready", Request = new FitSpec { Loss = "mae", Steps = 1, Points = 1, HistoryEvery = 1 } }));
    }

    [Fact]
    public void ABatchWithAnyFailedOrCancelledFitExitsWithOne()
    {
        static BatchResource Batch(BatchCounts counts) => new("b", "completed", 2, counts, 1, ["f1", "f2"], DateTimeOffset.UnixEpoch, null);
        Assert.Equal(ExitCodes.Success, BatchCommand.ExitCode(Batch(new(0, 0, 2, 0, 0))));
        Assert.Equal(ExitCodes.FitFailed, BatchCommand.ExitCode(Batch(new(0, 0, 1, 1, 0))));
        Assert.Equal(ExitCodes.FitFailed, BatchCommand.ExitCode(Batch(new(0, 0, 1, 0, 1))));
    }

    [Fact]
    public async Task HelpExitsWithZero()
    {
        Assert.Equal(ExitCodes.Success, await Run("--help"));
        Assert.Contains("fit <points>", _out.ToString());
        Assert.Contains("FITSERVICE_URL", _out.ToString());
    }
}
