using System.Net;
using System.Text;
using FitService.Api.Tests.Infrastructure;

namespace FitService.Api.Tests.Fits;

/// <summary>Real CSVs on <c>POST /v1/fits</c>: many columns chosen by name or index, header detection, delimiters, quotes, errors by line.</summary>
public sealed class CsvFitTests(CsvFitTests.Service factory) : IClassFixture<CsvFitTests.Service>
{
    public sealed class Service() : FitServiceFactory(("Workers:Count", "2"));

    private readonly HttpClient _client = factory.CreateClient();

    /// <summary>sales = 3·temp² + 2·temp + 1 exactly, among other columns, in the given delimiter.</summary>
    private static string Sales(char delimiter = ',')
    {
        var text = new StringBuilder($"day{delimiter}region{delimiter}temp{delimiter}sales{delimiter}note\n");
        for (var i = 0; i < 12; i++)
        {
            var temp = -1.5 + 0.25 * i;
            text.Append($"{i}{delimiter}\"North{delimiter} East\"{delimiter}{temp}{delimiter}{3 * temp * temp + 2 * temp + 1}{delimiter}\"said \"\"hi\"\"\"\n");
        }
        return text.ToString();
    }

    private async Task<HttpResponseMessage> Post(string query, string csv)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/fits" + query) { Content = new StringContent(csv, Encoding.UTF8, "text/csv") };
        request.Headers.TryAddWithoutValidation("Prefer", "wait=60");
        return await _client.SendAsync(request);
    }

    [Theory]
    [InlineData(',')]
    [InlineData(';')]
    [InlineData('\t')]
    public async Task AManyColumnCsvFitsTheNamedColumnsWithNoOtherOption(char delimiter)
    {
        var fit = await _client.WaitForEnd((await (await Post("?x=temp&y=sales", Sales(delimiter))).ReadFit()).Id, 120);

        Assert.Equal("succeeded", fit.Status);
        Assert.Equal(12, fit.Request.Points);
        Assert.Equal(3.0, fit.Optimum!.Params[0], 9);
        Assert.True(fit.Statistics!.RSquared > 0.999999, $"R² {fit.Statistics.RSquared}");
    }

    [Fact]
    public async Task ColumnsCanBeChosenByIndex()
    {
        var fit = await (await Post("?x=2&y=3&solver=exact", Sales())).ReadFit();

        Assert.Equal([3.0, 2.0, 1.0], fit.Params!.Select(p => Math.Round(p, 9)));
    }

    [Fact]
    public async Task AHeaderWithXAndYNeedsNoChoiceAndNoHeaderTakesTheFirstTwoColumns()
    {
        var named = await (await Post("?solver=exact&degree=1", "id,y,x\n1,3,1\n2,5,2\n3,7,3\n")).ReadFit();
        var plain = await (await Post("?solver=exact&degree=1", "1,3,100\n2,5,100\n3,7,100\n")).ReadFit();

        Assert.Equal([2.0, 1.0], named.Params!.Select(p => Math.Round(p, 9)));
        Assert.Equal([2.0, 1.0], plain.Params!.Select(p => Math.Round(p, 9)));
    }

    [Fact]
    public async Task AnUnknownColumnListsTheColumnsAndTheClosest()
    {
        var response = await Post("?x=tmp&y=sales", Sales());

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("no column 'tmp': columns are 'day', 'region', 'temp', 'sales', 'note'; did you mean 'temp'?",
            (await response.ReadProblem()).GetProperty("errors").GetProperty("x")[0].GetString());
    }

    [Fact]
    public async Task BadCellsAreNamedByLineCappedAtTwentyWithACount()
    {
        var csv = "temp,sales\n1,2\n" + string.Concat(Enumerable.Range(0, 30).Select(i => $"{i},n/a\n"));

        var response = await Post("?x=temp&y=sales", csv);

        var problem = await response.ReadProblem();
        var messages = problem.GetProperty("errors").GetProperty("body").EnumerateArray().Select(m => m.GetString()).ToList();
        Assert.Equal(Api.Fits.ValidationErrors.MaxListed, messages.Count);
        Assert.Equal("line 3: column 'sales' is 'n/a', not a finite number", messages[0]);
        Assert.Equal(10, problem.GetProperty("errorsOmitted").GetInt64());
    }

    [Fact]
    public async Task AShortRowSaysWhichColumnIsMissing()
    {
        var response = await Post("?x=temp&y=sales", "temp,sales\n1,2\n3\n");

        Assert.Equal("line 3: no column 'sales' (the row has 1 cell)",
            (await response.ReadProblem()).GetProperty("errors").GetProperty("body")[0].GetString());
    }
}
