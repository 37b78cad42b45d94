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
        var xColumn = new Option<string?>("--x") { Description = "With --file: the x column's header name or 0-based index" };
        var command = new Command("predict", "Put new x through a fitted model: prints x,y rows (CSV)") { id, values, file, xColumn };
        runner.Attach(command, async (parseResult, client, output, cancellationToken) =>
        {
            var xs = parseResult.GetValue(values) ?? [];
            if (parseResult.GetValue(file) is { } path)
            {
                if (xs.Length > 0)
                    throw new UsageException("give x values or --file, not both");
                xs = XValues.Load(path, runner.Context.In, parseResult.GetValue(xColumn));
            }
            if (xs.Length == 0)
                throw new UsageException("give x values (fitctl predict ID 1.5 2.5) or --file new.csv");

            var prediction = await client.PredictAsync(parseResult.GetValue(id)!, xs, cancellationToken);
            if (output.Json)
            {
                Views.Json(runner.Context.Out, prediction);
                return ExitCodes.Success;
            }
            var rows = new System.Text.StringBuilder("x,y\n");
            for (var i = 0; i < xs.Length; i++)
                rows.Append(xs[i].ToString("R", CultureInfo.InvariantCulture)).Append(',')
                    .Append(prediction.Y[i] is { } y ? y.ToString("R", CultureInfo.InvariantCulture) : "").Append('\n');
            Views.Raw(runner.Context.Out, rows.ToString());
            return ExitCodes.Success;
        });
        return command;
    }
}

/// <summary>x values from a CSV file: the first column, or the one <c>--x</c> names.</summary>
internal static class XValues
{
    public static double[] Load(string path, TextReader stdin, string? column)
    {
        // Read as points with y = x: the same column rules, header detection and line-numbered errors as fitctl fit.
        var choice = column ?? "0";
        var points = PointsCsv.Load(path, stdin, choice, choice);
        return points.X;
    }
}
