using System.Globalization;
using System.Text;
using FitService.Engine;

namespace FitService.Api.Tests.Fits;

/// <summary>
/// The Titanic-like table of <see cref="TitanicLikeData"/> (made up by its documented generator, nothing downloaded) in the
/// shapes a client sends: rows of features, the survived column, or a CSV file with a header.
/// </summary>
public static class Titanic
{
    public const ulong Seed = 1;

    public static double[][] Rows(int rows, ulong seed = Seed)
    {
        var (x, _) = TitanicLikeData.Generate(rows, seed);
        var width = TitanicLikeData.Columns.Count;
        return [.. Enumerable.Range(0, rows).Select(r => x[(r * width)..((r + 1) * width)])];
    }

    public static double[] Survived(int rows, ulong seed = Seed) => TitanicLikeData.Generate(rows, seed).Y;

    /// <summary>pclass,sex,age,sibsp,parch,fare,survived with a header, as a spreadsheet writes it.</summary>
    public static string Csv(int rows, ulong seed = Seed)
    {
        var (x, y) = TitanicLikeData.Generate(rows, seed);
        var width = TitanicLikeData.Columns.Count;
        var csv = new StringBuilder(string.Join(',', TitanicLikeData.Columns)).Append(",survived\n");
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < width; c++) csv.Append(x[r * width + c].ToString("R", CultureInfo.InvariantCulture)).Append(',');
            csv.Append(y[r].ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        return csv.ToString();
    }
}
