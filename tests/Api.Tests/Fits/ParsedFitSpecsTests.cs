using FitService.Api.Fits;
using FitService.Api.Storage;
using FitService.Api.Tests.Infrastructure;

namespace FitService.Api.Tests.Fits;

/// <summary>A list page reuses the parse of a fit's stored request only for the very row text it was parsed from.</summary>
public sealed class ParsedFitSpecsTests(ParsedFitSpecsTests.Service factory) : IClassFixture<ParsedFitSpecsTests.Service>
{
    public sealed class Service() : FitServiceFactory(("Workers:Count", "0"));

    private static FitRecord Fit(string id, string requestJson) => new()
    {
        Id = id, Tenant = "t", Seq = 1, Status = FitStatus.Queued, Steps = 10, CreatedAt = DateTimeOffset.UnixEpoch, RequestJson = requestJson,
    };

    private static string Row(int degree, string label = "a") => StoredSpecs.Write(new FitSpec { Degree = degree, Label = label, Loss = "mse", Steps = 10, Points = 3, HistoryEvery = 1 });

    [Fact]
    public void TheSameRowIsParsedOnce()
    {
        var specs = new ParsedFitSpecs();
        var first = specs.Of(Fit("f1", Row(2)));

        Assert.Same(first, specs.Of(Fit("f1", Row(2))));
        Assert.Equal(2, first.Degree);
    }

    [Fact]
    public void AnotherRowUnderTheSameIdIsParsedAfresh()
    {
        var specs = new ParsedFitSpecs();
        specs.Of(Fit("f1", Row(2)));

        var changed = specs.Of(Fit("f1", Row(3, "b")));

        Assert.Equal(3, changed.Degree);
        Assert.Equal("b", changed.Label);
        Assert.Same(changed, specs.Of(Fit("f1", Row(3, "b"))));
    }

    [Fact]
    public void KeptSpecsAreBoundedByCountAndRowLength()
    {
        var specs = new ParsedFitSpecs();
        for (var i = 0; i < ParsedFitSpecs.Capacity * 3 + 7; i++) specs.Of(Fit($"f{i}", Row(1)));
        Assert.InRange(specs.Count, 1, ParsedFitSpecs.Capacity);

        var longRow = Fit("long", Row(1, new string('x', ParsedFitSpecs.MaxRowLength)));
        Assert.NotSame(specs.Of(longRow), specs.Of(longRow));
    }

    [Fact]
    public async Task AListPageReadTwiceIsTheSameBytesAndShowsEachFitsRequestAsItsOwnPageDoes()
    {
        var client = factory.CreateClient();
        for (var i = 0; i < 3; i++) await client.PostFit(TestApi.SmallFit(steps: 10 + i, label: $"specs-{i}"));

        var first = await client.GetStringAsync("/v1/fits?limit=3");
        var second = await client.GetStringAsync("/v1/fits?limit=3");

        Assert.Equal(first, second);
        var page = System.Text.Json.JsonDocument.Parse(first).RootElement.GetProperty("items");
        Assert.Equal(3, page.GetArrayLength());
        foreach (var listed in page.EnumerateArray())
        {
            using var own = System.Text.Json.JsonDocument.Parse(await client.GetStringAsync($"/v1/fits/{listed.GetProperty("id").GetString()}"));
            Assert.Equal(own.RootElement.GetProperty("request").GetRawText(), listed.GetProperty("request").GetRawText());
        }
    }
}
