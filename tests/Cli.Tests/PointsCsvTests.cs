using FitService.Cli.Input;

namespace FitService.Cli.Tests;

public class PointsCsvTests
{
    private static Points Parse(string text) => PointsCsv.Parse(new StringReader(text), "points.csv");

    private static PointsFormatException ParseFails(string text) =>
        Assert.Throws<PointsFormatException>(() => Parse(text));

    [Fact]
    public void ReadsRowsWithAHeader()
    {
        var points = Parse("x,y\n-2,11.87\n0,1\n2.5,24.25\n");
        Assert.Equal([-2, 0, 2.5], points.X);
        Assert.Equal([11.87, 1, 24.25], points.Y);
    }

    [Fact]
    public void ReadsRowsWithoutAHeader()
    {
        var points = Parse("1,2\n3,4");
        Assert.Equal([1, 3], points.X);
        Assert.Equal([2, 4], points.Y);
    }

    [Fact]
    public void IgnoresSurroundingWhitespaceBlankLinesCommentsAndCarriageReturns()
    {
        var points = Parse("  x , y \r\n\r\n# measured on Monday\r\n  1 ,  2  \r\n\t3,4\t\r\n\r\n");
        Assert.Equal([1, 3], points.X);
        Assert.Equal([2, 4], points.Y);
    }

    [Theory]
    [InlineData("1;2\n3;4")]
    [InlineData("1\t2\n3\t4")]
    [InlineData("1 2\n3   4")]
    [InlineData("\"1\",\"2\"\n\"3\",\"4\"")]
    [InlineData("1,2,\n3,4,")]
    public void AcceptsOtherSeparatorsQuotesAndATrailingSeparator(string text)
    {
        var points = Parse(text);
        Assert.Equal([1, 3], points.X);
        Assert.Equal([2, 4], points.Y);
    }

    [Fact]
    public void ReadsExponentsAndSignsInTheInvariantCulture()
    {
        var points = Parse("-1.5e-3,+2E2");
        Assert.Equal(-0.0015, points.X[0]);
        Assert.Equal(200, points.Y[0]);
    }

    [Fact]
    public void NamesTheLineOfARowThatIsNotANumber()
    {
        var error = ParseFails("x,y\n1,2\n\n2,abc\n3,4");
        Assert.Equal(4, error.Line);
        Assert.Equal("points.csv:4: y is not a number: 'abc'", error.Message);
    }

    [Fact]
    public void OnlyTheFirstRowMayBeAHeader()
    {
        var error = ParseFails("x,y\nx,y\n1,2");
        Assert.Equal(2, error.Line);
        Assert.Contains("x is not a number", error.Message);
    }

    [Fact]
    public void NamesTheLineOfARowWithTheWrongNumberOfValues()
    {
        var error = ParseFails("1,2\n3,4,5\n");
        Assert.Equal(2, error.Line);
        Assert.Contains("expected 2 values (x,y), found 3", error.Message);
    }

    [Fact]
    public void NamesTheLineOfARowWithOneValue()
    {
        var error = ParseFails("1,2\n3\n");
        Assert.Equal(2, error.Line);
        Assert.Contains("found 1", error.Message);
    }

    [Theory]
    [InlineData("NaN,1")]
    [InlineData("1,Infinity")]
    [InlineData("1,1e999")]
    public void RejectsValuesThatAreNotFinite(string row)
    {
        var error = ParseFails("x,y\n" + row);
        Assert.Equal(2, error.Line);
        Assert.Contains("not finite", error.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("x,y\n")]
    [InlineData("# nothing\n\n")]
    public void RejectsAFileWithoutPoints(string text)
    {
        var error = ParseFails(text);
        Assert.Equal("points.csv: no points (expected rows of x,y)", error.Message);
    }

    [Fact]
    public void ReportsAMissingFileByName()
    {
        var error = Assert.Throws<PointsFormatException>(() => PointsCsv.Load("/no/such/dir/points.csv"));
        Assert.Equal("/no/such/dir/points.csv: no such file", error.Message);
    }

    [Fact]
    public void ReadsStandardInputForADash()
    {
        var points = PointsCsv.Load("-", new StringReader("x,y\n1,2"));
        Assert.Equal([1], points.X);
    }

    private static Points Columns(string text, string? x, string? y) => PointsCsv.Parse(new StringReader(text), "data.csv", x, y);

    private const string Sales = "day;region;temp;sales\n1;\"North; East\";20.5;310\n2;South;25;355.5\n";

    [Fact]
    public void ChoosesColumnsOfAWiderFileByHeaderName()
    {
        var points = Columns(Sales, "temp", "sales");
        Assert.Equal([20.5, 25], points.X);
        Assert.Equal([310, 355.5], points.Y);
    }

    [Fact]
    public void ChoosesColumnsByZeroBasedIndexWithOrWithoutAHeader()
    {
        Assert.Equal([310, 355.5], Columns(Sales, "2", "3").Y);
        Assert.Equal([30.0, 60.0], Columns("1,10,30\n2,20,60\n", "0", "2").Y);
    }

    [Fact]
    public void AWiderFileWithoutAChoiceAsksForOne()
    {
        var error = Assert.Throws<PointsFormatException>(() => Columns(Sales, null, null));
        Assert.Contains("choose with --x and --y", error.Message);
    }

    [Fact]
    public void AnUnknownColumnListsTheColumns()
    {
        var error = Assert.Throws<PointsFormatException>(() => Columns(Sales, "tmp", "sales"));
        Assert.Contains("--x tmp: no such column; the columns are day, region, temp, sales", error.Message);
    }

    [Fact]
    public void ABadCellIsNamedByItsColumnAndLine()
    {
        var error = Assert.Throws<PointsFormatException>(() => Columns(Sales + "3;West;n/a;1\n", "temp", "sales"));
        Assert.Equal(4, error.Line);
        Assert.Contains("temp is not a number: 'n/a'", error.Message);
    }

    [Fact]
    public void AWeightsColumnIsReadByNameOrIndexAndIsAbsentUnlessChosen()
    {
        const string text = "temp;n;sales\n20.5;3;310\n25;0.5;355.5\n";

        var named = PointsCsv.Parse(new StringReader(text), "data.csv", "temp", "sales", "n");
        var indexed = PointsCsv.Parse(new StringReader(text), "data.csv", "0", "2", "1");

        Assert.Equal([3, 0.5], named.Weights!);
        Assert.Equal([3, 0.5], indexed.Weights!);
        Assert.Null(Columns(text, "temp", "sales").Weights);
    }

    [Fact]
    public void AnUnknownOrBadWeightsColumnIsNamed()
    {
        var unknown = Assert.Throws<PointsFormatException>(() => PointsCsv.Parse(new StringReader(Sales), "data.csv", "temp", "sales", "count"));
        var bad = Assert.Throws<PointsFormatException>(() => PointsCsv.Parse(new StringReader("x,y,w\n1,2,1\n2,3,lots\n"), "data.csv", null, null, "w"));

        Assert.Contains("--weights count: no such column", unknown.Message);
        Assert.Equal(3, bad.Line);
        Assert.Contains("w is not a number: 'lots'", bad.Message);
    }
}
