using System.CommandLine;
using System.Text.Json;
using FitService.Cli.Commands;

namespace FitService.Cli.Tests;

public class FitOptionsTests
{
    private const string Required = "--degree 2 --loss mae --lr 0.01 --steps 1000";

    private static FitRequest Map(string commandLine)
    {
        var options = new FitOptions();
        var command = new RootCommand();
        options.AddTo(command);
        var parseResult = command.Parse(commandLine);
        Assert.Empty(parseResult.Errors);
        return options.ToRequest(parseResult);
    }

    private static string Wire(FitRequest request) => JsonSerializer.Serialize(request, FitServiceJson.Requests);

    [Fact]
    public void TheRequiredOptionsAloneMakeAMinimalRequest()
    {
        var request = Map(Required);
        Assert.Equal("""{"degree":2,"loss":"mae","learningRate":0.01,"steps":1000}""", Wire(request));
    }

    [Fact]
    public void LongAndShortNamesMeanTheSame()
    {
        Assert.Equal(Wire(Map(Required)), Wire(Map("-d 2 -l mae --learning-rate 0.01 -n 1000")));
    }

    [Theory]
    [InlineData("--initial-params 1.1,1.1,1.1")]
    [InlineData("--initial-params 1.1 1.1 1.1")]
    [InlineData("-p 1.1 -p 1.1,1.1")]
    public void InitialParamsAreAListInAnyOfTheUsualSpellings(string option)
    {
        Assert.Equal([1.1, 1.1, 1.1], Map($"{Required} {option}").InitialParams!);
    }

    [Fact]
    public void SgdOptionsMakeAnSgdOptimizer()
    {
        var request = Map($"{Required} --momentum 1 --dampening 0 --nesterov");
        Assert.Equal("""{"type":"sgd","momentum":1,"dampening":0,"nesterov":true}""", JsonSerializer.Serialize(request.Optimizer, FitServiceJson.Requests));
    }

    [Fact]
    public void AdamOptionsMakeAnAdamOptimizer()
    {
        var request = Map($"{Required} --optimizer adam --beta1 0.8");
        Assert.Equal("""{"type":"adam","beta1":0.8}""", JsonSerializer.Serialize(request.Optimizer, FitServiceJson.Requests));
        Assert.Equal("adam", Map($"{Required} --epsilon 1e-6").Optimizer!.Type);
    }

    [Fact]
    public void OptionsOfTheOtherOptimizerAreAUsageError()
    {
        var error = Assert.Throws<UsageException>(() => Map($"{Required} --optimizer sgd --beta2 0.9"));
        Assert.Equal("--beta2 applies to --optimizer adam, not sgd", error.Message);
        Assert.Throws<UsageException>(() => Map($"{Required} --optimizer adam --momentum 0.9"));
    }

    [Theory]
    [InlineData("--schedule step --every 100 --gamma 0.5", """{"type":"step","every":100,"gamma":0.5}""")]
    [InlineData("--schedule exponential --gamma 0.99", """{"type":"exponential","gamma":0.99}""")]
    [InlineData("--schedule cosine --min-lr 0.001", """{"type":"cosine","minLearningRate":0.001}""")]
    [InlineData("--schedule one-cycle --max-lr 0.1 --warmup-fraction 0.3", """{"type":"oneCycle","maxLearningRate":0.1,"warmupFraction":0.3}""")]
    [InlineData("--schedule ONECYCLE --max-lr 0.1", """{"type":"oneCycle","maxLearningRate":0.1}""")]
    [InlineData("--schedule constant", """{"type":"constant"}""")]
    public void ScheduleOptionsMakeASchedule(string options, string json)
    {
        Assert.Equal(json, JsonSerializer.Serialize(Map($"{Required} {options}").Schedule, FitServiceJson.Requests));
    }

    [Theory]
    [InlineData("--every 10", "--every applies to --schedule step")]
    [InlineData("--schedule cosine --gamma 0.5", "--gamma applies to --schedule step or exponential")]
    [InlineData("--schedule step --max-lr 1", "--max-lr applies to --schedule oneCycle")]
    public void ScheduleOptionsWithoutTheirScheduleAreAUsageError(string options, string message)
    {
        Assert.Equal(message, Assert.Throws<UsageException>(() => Map($"{Required} {options}")).Message);
    }

    [Fact]
    public void StopOptionsMakeAStopRule()
    {
        var request = Map($"{Required} --loss-below 0.5 --min-improvement 1e-4 --patience 20");
        Assert.Equal("""{"lossBelow":0.5,"minImprovement":0.0001,"patience":20}""", JsonSerializer.Serialize(request.Stop, FitServiceJson.Requests));
        Assert.Throws<UsageException>(() => Map($"{Required} --patience 20"));
    }

    [Fact]
    public void TheRestMapOneToOne()
    {
        var request = Map($"--degree 3 --loss huber --huber-delta 0.5 --lr 0.1 --steps 50 --history-every 10 --webhook https://example.test/hook");
        Assert.Equal("""{"degree":3,"loss":"huber","huberDelta":0.5,"learningRate":0.1,"steps":50,"historyEvery":10,"webhook":{"url":"https://example.test/hook"}}""", Wire(request));
    }

    [Fact]
    public void AFormulaModelAnAutomaticRateAndTheExactSolverReachTheRequest()
    {
        var formula = JsonDocument.Parse(Wire(Map("--formula \"a*exp(b*x) + c\" --params a,b,c --loss mse --lr auto --steps 500"))).RootElement;
        Assert.Equal("a*exp(b*x) + c", formula.GetProperty("model").GetProperty("formula").GetString());
        Assert.Equal(["a", "b", "c"], formula.GetProperty("model").GetProperty("params").EnumerateArray().Select(p => p.GetString()));
        Assert.Equal("auto", formula.GetProperty("learningRate").GetString());
        Assert.False(formula.TryGetProperty("degree", out _));
        Assert.Equal(Wire(Map("--formula a*x --params a --loss mse --lr 0.1 --steps 5")), Wire(Map("--formula a*x --params a --loss mse --lr 0.1 --steps 5")));
        Assert.Equal("""{"degree":3,"solver":"exact","loss":"mae"}""", Wire(Map("--degree 3 --solver exact --loss mae")));
    }

    [Theory]
    [InlineData("--degree 2 --formula a*x --params a --loss mae --lr 0.01 --steps 10", "give either --degree or --formula (with --params)")]
    [InlineData("--formula a*x --loss mae --lr 0.01 --steps 10", "--formula needs --params, the param names in order (e.g. --params a,b,c)")]
    [InlineData("--degree 1 --params a --loss mae --lr 0.01 --steps 10", "--params applies to --formula")]
    public void MissingOrContradictoryModelOptionsAreUsageErrors(string commandLine, string message)
    {
        Assert.Equal(message, Assert.Throws<UsageException>(() => Map(commandLine)).Message);
    }

    [Theory]
    [InlineData("--degree 2 --loss l1 --lr 0.01 --steps 10")]
    [InlineData("--degree 2 --loss mae --lr 0.01 --steps 10 --solver newton")]
    [InlineData("--degree 2 --loss mae --lr fast --steps 10")]
    [InlineData("--degree 2 --loss mae --lr 0.01 --steps 10 --schedule linear")]
    [InlineData("--degree 2 --loss mae --lr 0.01 --steps 10 --initial-params 1,x")]
    public void BadOrMissingValuesAreParseErrors(string commandLine)
    {
        var options = new FitOptions();
        var command = new RootCommand();
        options.AddTo(command);
        Assert.NotEmpty(command.Parse(commandLine).Errors);
    }
}
