using System.Net;
using System.Xml.Linq;
using FitService.Api.Tests.Infrastructure;

namespace FitService.Api.Tests.Plots;

/// <summary>Pictures of fits a client made odd on purpose: never a 500.</summary>
public sealed class PlotHardeningTests(PlotHardeningTests.Service factory) : IClassFixture<PlotHardeningTests.Service>
{
    public sealed class Service() : FitServiceFactory(("Workers:Count", "2"));

    private readonly HttpClient _client = factory.CreateClient();

    [Theory]
    [InlineData("plot.svg")]
    [InlineData("loss.svg")]
    [InlineData("loss.svg?scale=log")]
    public async Task ALabelWithControlCharactersIsDroppedFromThePictureNotA500(string picture)
    {
        var fit = await (await _client.PostFit(TestApi.SmallFit(steps: 20, label: "a\u0000b\u001bc\uffff"), ("Prefer", "wait=30"))).ReadFit();

        var response = await _client.GetAsync($"/v1/fits/{fit.Id}/{picture}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var svg = XDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.StartsWith("abc:", svg.Root!.Element(SvgReader.Svg + "title")!.Value);
    }

    [Fact]
    public async Task AFailedExactFitIsDrawnWithoutACurve()
    {
        // An optimum beyond the doubles: the exact fit fails with params [].
        var request = new { x = new[] { 1.0, 2, 3 }, y = new[] { 1.7e308, -1.7e308, 1.7e308 }, degree = 2, loss = "mse", solver = "exact" };
        var fit = await (await _client.PostFit(request, ("Prefer", "wait=30"))).ReadFit();
        Assert.Equal("failed", fit.Status);
        Assert.Empty(fit.Params!);

        var response = await _client.GetAsync($"/v1/fits/{fit.Id}/plot.svg");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var plot = new SvgReader(await response.Content.ReadAsStringAsync());
        Assert.Null(plot.ById("fit-curve"));
        Assert.Equal(3, plot.Circles("points").Count);
    }

    [Theory]
    [InlineData(5e-324)]
    [InlineData(1.0000000000000002)]
    public async Task APlotOfADegenerateRangeAnswers(double second)
    {
        var request = new { x = new[] { second == 5e-324 ? 5e-324 : 1, second }, y = new[] { 0.0, 0 }, degree = 1, loss = "mae", learningRate = 0.5, steps = 5 };
        var fit = await (await _client.PostFit(request, ("Prefer", "wait=30"))).ReadFit();

        var response = await _client.GetAsync($"/v1/fits/{fit.Id}/plot.svg");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True((await response.Content.ReadAsStringAsync()).Length < 200_000);
    }
}
