using System.CommandLine;
using System.Text.Json;
using FitService.Cli.Commands;
using FitService.Cli.Input;

namespace FitService.Cli.Tests;

/// <summary>fitctl's network options (<c>--model relu:8</c>, <c>--layers 16,16 --activation tanh</c>, <c>--x age,fare</c>) on the wire.</summary>
public class NetworkOptionsTests
{
    private static FitRequest Map(string commandLine, XValues? x = null)
    {
        var options = new FitOptions();
        var command = new RootCommand();
        options.AddTo(command);
        var parseResult = command.Parse(commandLine);
        Assert.Empty(parseResult.Errors);
        return options.ToRequest(parseResult, x);
    }

    private static string Wire(object? value) => JsonSerializer.Serialize(value, FitServiceJson.Requests);

    [Fact]
    public void ReluWithItsUnitsIsTheLessonsSumOfReLUs()
    {
        Assert.Equal("""{"type":"relu","units":8}""", Wire(Map("--model relu:8").Model));
    }

    [Theory]
    [InlineData("--layers 16,16 --activation tanh")]
    [InlineData("--layers 16 16 --activation tanh")]
    [InlineData("--model mlp --layers 16,16 --activation tanh")]
    [InlineData("--model mlp:16,16 --activation tanh")]
    public void LayersMakeAnMlpInAnyOfTheUsualSpellings(string options)
    {
        Assert.Equal("""{"type":"mlp","layers":[16,16],"activation":"tanh"}""", Wire(Map(options).Model));
    }

    [Fact]
    public void TheNetworkFieldsGoOnTheWireOnlyWhenGiven()
    {
        var request = Map("--model linear --loss bce --standardize --seed 7 --batch-size 32 --shuffle --epochs 40 --history-per-epoch", new XValues([1, 2, 3, 4], 2));

        Assert.Equal("""{"x":[[1,2],[3,4]],"model":{"type":"linear"},"loss":"bce","standardize":true,"seed":7,"batchSize":32,"shuffle":true,"epochs":40,"historyPerEpoch":true}""", Wire(request));
        Assert.Equal("""{"model":{"type":"relu","units":2}}""", Wire(Map("--model relu:2")));
    }

    [Theory]
    [InlineData("--model relu", "--model relu needs its number of ReLUs, e.g. relu:8")]
    [InlineData("--model relu:x", "--model relu needs its number of ReLUs, e.g. relu:8, not 'x'")]
    [InlineData("--model mlp", "--model mlp needs its hidden layers: --layers 16,16")]
    [InlineData("--model cnn", "--model must be relu:K, mlp or linear, not 'cnn'")]
    [InlineData("--model relu:4 --degree 2", "give one model: --model relu does not go with --degree")]
    [InlineData("--model relu:4 --layers 3", "--layers and --activation apply to --model mlp; relu:K is K ReLUs")]
    [InlineData("--activation tanh", "--activation applies to an mlp (--layers 16,16)")]
    [InlineData("--model linear --layers 3", "--model linear takes no units, layers or activation")]
    public void ContradictoryModelOptionsAreUsageErrors(string options, string message)
    {
        Assert.Equal(message, Assert.Throws<UsageException>(() => Map(options)).Message);
    }

    [Fact]
    public void SeveralXColumnsAreTheFeaturesOfEachRow()
    {
        var points = PointsCsv.Parse(new StringReader("pclass,sex,age,survived\n1,1,29,1\n3,0,40,0\n"), "titanic.csv", "sex,age", "survived");

        Assert.Equal(2, points.Features);
        Assert.Equal([1, 29, 0, 40], points.X);
        Assert.Equal([1, 0], points.Y);
        Assert.Equal("[[1,29],[0,40]]", Wire(points.WireX));
    }

    [Fact]
    public void AnXColumnNamedTwiceIsAnError()
    {
        var error = Assert.Throws<PointsFormatException>(() => PointsCsv.Parse(new StringReader("a,b,y\n1,2,3\n"), "t.csv", "a,a", "y"));
        Assert.Contains("named twice", error.Message);
    }
}
