using System.CommandLine;
using System.Globalization;
using FitService.Client;
using FitService.Cli.Input;
using FitService.Cli.Output;

namespace FitService.Cli.Commands;

/// <summary><c>fitctl predict ID 1.5 2.5</c> or <c>fitctl predict ID --file new.csv</c>: the fitted model at new x.</summary>
internal static class PredictCommand
{
    public static Command Create(CommandRunner runner)
    {
        var id = new Argument<string>("id") { Description = "The fit's id (a succeeded fit)" };
        var values = new Argument<double[]>("x") { Description = "x values, e.g. 1.5 2.5 (or --file)", Arity = ArgumentArity.ZeroOrMore };
        var file = new Option<string?>("--file", "-f") { Description = "CSV of x values (the first column, or the one --x names; header optional), or - for standard input" };
        var xColumn = new Option<string?>("--x") { Description = "With --file: the x column's header name or 0-based index; several for a network's features: --x age,fare" };
        var command = new Command("predict", "Put new x through a fitted model: prints x,y rows (CSV)") { id, values, file, xColumn };
        runner.Attach(command, async (parseResult, client, output, cancellationToken) =>
        {
            var xs = new Input.Points(parseResult.GetValue(values) ?? [], parseResult.GetValue(values) ?? []);
            if (parseResult.GetValue(file) is { } path)
            {
                if (xs.Count > 0)
                    throw new UsageException("give x values or --file, not both");
                xs = XColumns.Load(path, runner.Context.In, parseResult.GetValue(xColumn));
            }
            if (xs.Count == 0)
                throw new UsageException("give x values (fitctl predict ID 1.5 2.5) or --file new.csv");

            var prediction = await client.PredictAsync(parseResult.GetValue(id)!, xs.WireX, cancellationToken);
            if (output.Json)
            {
                Views.Json(runner.Context.Out, prediction);
                return ExitCodes.Success;
            }
            // x (or x0,x1,… for a network's features), y, and the probability for a bce fit.
            var header = xs.Features == 1 ? "x" : string.Join(',', Enumerable.Range(0, xs.Features).Select(j => $"x{j}"));
            var rows = new System.Text.StringBuilder(header).Append(prediction.Probabilities is null ? ",y\n" : ",y,probability\n");
            for (var i = 0; i < xs.Count; i++)
            {
                for (var j = 0; j < xs.Features; j++) rows.Append(xs.X[i * xs.Features + j].ToString("R", CultureInfo.InvariantCulture)).Append(',');
                rows.Append(Cell(prediction.Y[i]));
                if (prediction.Probabilities is { } p) rows.Append(',').Append(Cell(p[i]));
                rows.Append('\n');
            }
            Views.Raw(runner.Context.Out, rows.ToString());
            return ExitCodes.Success;
        });
        return command;
    }

    private static string Cell(double? value) => value is { } v ? v.ToString("R", CultureInfo.InvariantCulture) : "";
}

/// <summary>x values from a CSV file: the first column, or the one (or several, <c>age,fare</c>) <c>--x</c> names.</summary>
internal static class XColumns
{
    public static Input.Points Load(string path, TextReader stdin, string? column)
    {
        // Read as points with y = the first x column: the same column rules, header detection and line-numbered errors as fitctl fit.
        var choice = column ?? "0";
        return PointsCsv.Load(path, stdin, choice, choice.Split(',')[0].Trim());
    }
}
