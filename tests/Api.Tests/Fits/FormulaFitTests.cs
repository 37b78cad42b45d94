using System.Net;
using System.Text.Json;
using FitService.Api.Tests.Infrastructure;

namespace FitService.Api.Tests.Fits;

/// <summary>Formula models through the API: fits, plots and the 400s that name the position of a syntax error.</summary>
public sealed class FormulaFitTests(FormulaFitTests.Service factory) : IClassFixture<FormulaFitTests.Service>
{
    public sealed class Service() : FitServiceFactory(("Workers:Count", "2"));

    private readonly HttpClient _client = factory.CreateClient();

    private static readonly double[] X = [.. Enumerable.Range(0, 40).Select(i => i / 20.0)];
    private static readonly double[] Y = [.. X.Select(x => 2 * Math.Exp(-1.3 * x) + 0.5)];

    private static object Decay(string formula = "a*exp(b*x) + c", string[]? names = null, object? initialParams = null) => new
    {
        x = X, y = Y, model = new { formula, @params = names ?? ["a", "b", "c"] }, loss = "mse", learningRate = 0.05, steps = 3000,
        initialParams = initialParams ?? new[] { 1.0, -0.5, 0.0 }, optimizer = new { type = "adam" },
    };

    [Fact]
    public async Task AFormulaFitsItsParamsEndToEnd()
    {
        var response = await _client.PostFit(Decay(), ("Prefer", "wait=30"));

        var fit = await response.ReadFit();
        // On a loaded machine the job may take longer than the wait: then wait for its end.
        if (response.StatusCode == HttpStatusCode.Accepted) fit = await _client.WaitForEnd(fit.Id, 60);
        Assert.Equal("succeeded", fit.Status);
        Assert.Equal(2.0, fit.Params![0], 2);
        Assert.Equal(-1.3, fit.Params[1], 2);
        Assert.Equal(0.5, fit.Params[2], 2);
        Assert.Equal("a*exp(b*x) + c", fit.Request.Model!.Formula);
        Assert.Null(fit.Request.Degree);
        Assert.Null(fit.Optimum); // no exact solver for a general formula
        Assert.Null(fit.Gap);

        var svg = await _client.GetStringAsync($"/v1/fits/{fit.Id}/plot.svg");
        Assert.Contains("a*exp(b*x) + c", svg);
        Assert.Contains("id=\"fit-curve\"", svg);
    }

    [Theory]
    [InlineData("a*(x + b))", "model.formula", "unexpected ')' at position 10")]
    [InlineData("a*exp(b*x) +", "model.formula", "unexpected end of formula at position 13")]
    [InlineData("a*exp(k*x) + c", "model.formula", "unknown name 'k' at position 7")]
    [InlineData("a*system(x) + b + c", "model.formula", "unknown name 'system' at position 3")]
    public async Task ASyntaxErrorIsA400NamingItsPosition(string formula, string field, string message)
    {
        var response = await _client.PostFit(Decay(formula));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.ReadProblem()).GetProperty("errors");
        Assert.StartsWith(message, errors.GetProperty(field)[0].GetString());
    }

    [Fact]
    public async Task ParamsAndInitialParamsAreChecked()
    {
        var unused = await _client.PostFit(Decay("a*exp(b*x)", ["a", "b", "c"]));
        Assert.Equal("'c' does not appear in the formula", (await unused.ReadProblem()).GetProperty("errors").GetProperty("model.params")[0].GetString());

        var length = await _client.PostFit(Decay(initialParams: new[] { 1.0, 2.0 }));
        Assert.Equal("length 2 differs from the number of params (3)", (await length.ReadProblem()).GetProperty("errors").GetProperty("initialParams")[0].GetString());

        var both = await _client.PostFit(new { x = X, y = Y, degree = 2, model = new { formula = "a*x", @params = new[] { "a" } }, loss = "mse", learningRate = 0.1, steps = 10 });
        Assert.Equal("does not apply with model: give either degree or model", (await both.ReadProblem()).GetProperty("errors").GetProperty("degree")[0].GetString());

        var unknownField = await _client.PostFit(new { x = X, y = Y, model = new { formula = "a*x", @params = new[] { "a" }, code = "x" }, loss = "mse", learningRate = 0.1, steps = 10 });
        Assert.Equal("is not a known field", (await unknownField.ReadProblem()).GetProperty("errors").GetProperty("model.code")[0].GetString());

        var exact = await _client.PostFit(new { x = X, y = Y, model = new { formula = "a*x", @params = new[] { "a" } }, loss = "mse", solver = "exact" });
        Assert.StartsWith("exact needs a polynomial", (await exact.ReadProblem()).GetProperty("errors").GetProperty("solver")[0].GetString());
    }

    [Fact]
    public async Task FormulaParamsDefaultToOnes()
    {
        var fit = await (await _client.PostFit(new { x = X, y = Y, model = new { formula = "a*exp(b*x) + c", @params = new[] { "a", "b", "c" } }, loss = "mse", learningRate = 0.01, steps = 1 },
            ("Prefer", "wait=30"))).ReadFit();
        Assert.Equal([1.0, 1.0, 1.0], fit.Request.InitialParams!);
    }
}
