using System.CommandLine;
using FitService.Cli.Input;
using FitService.Cli.Output;
using Spectre.Console;

namespace FitService.Cli.Commands;

/// <summary><c>fitctl batch data/*.csv --degree 3 … --out results.csv</c>: one batch, one fit and one result row per file.</summary>
internal static class BatchCommand
{
    public static Command Create(CommandRunner runner)
    {
        var files = new Argument<string[]>("files") { Description = "CSV files of x,y rows; each becomes one fit labelled with its path", Arity = ArgumentArity.OneOrMore };
        var fitOptions = new FitOptions();
        var outPath = new Option<string?>("--out", "-o") { Description = "Write the results here: .csv (label,status,stopReason,loss,p0,p1,…), .jsonl/.ndjson/.json (JSON lines), or - for standard output" };
        var noWait = new Option<bool>("--no-wait") { Description = "Submit and print the batch without waiting for it" };

        var command = new Command("batch", "Fit the same model to many CSV files in one batch and collect the results");
        command.Arguments.Add(files);
        fitOptions.AddTo(command);
        command.Options.Add(outPath);
        command.Options.Add(noWait);

        runner.Attach(command, async (parseResult, client, output, cancellationToken) =>
        {
            var defaults = fitOptions.ToRequest(parseResult);
            var paths = DataFiles.Expand(parseResult.GetValue(files) ?? []);
            var fits = paths.Select(path =>
            {
                var data = PointsCsv.Load(path, runner.Context.In);
                return new FitRequest { X = data.WireX, Y = data.Y, Label = path };
            }).ToList();
            var console = runner.Context.Out;

            var batch = await client.SubmitBatchAsync(new BatchRequest { Defaults = defaults, Fits = [.. fits] }, cancellationToken: cancellationToken);
            if (parseResult.GetValue(noWait))
            {
                if (output.Json)
                    Views.Json(console, batch);
                else
                    console.MarkupLine(Markup.Escape($"batch {batch.Id}: {batch.Total} fits submitted"));
                return ExitCodes.Success;
            }
            if (!output.Json && !output.Quiet)
                runner.Context.Error.MarkupLine(Markup.Escape($"batch {batch.Id} submitted ({fits.Count} files), waiting for it…"));
            batch = output.Live
                ? await FollowWithProgressBarAsync(console, client, batch, cancellationToken)
                : await FitWatcher.FollowBatchAsync(client, batch, null, cancellationToken);

            var destination = parseResult.GetValue(outPath);
            if (destination is not null)
                await WriteResultsAsync(client, batch, destination, console, cancellationToken);
            if (destination == "-")
                return ExitCode(batch); // standard output holds the results alone
            if (output.Json)
                Views.Json(console, new { batch, results = await ResultsAsync(client, batch, cancellationToken) });
            else
            {
                if (destination is null)
                    Views.BatchResults(console, await ResultsAsync(client, batch, cancellationToken));
                Views.BatchSummary(console, batch);
                if (destination is not null && !output.Quiet)
                    console.MarkupLine(Markup.Escape($"results written to {destination}"));
            }
            return ExitCode(batch);
        });
        return command;
    }

    public static int ExitCode(BatchResource batch) =>
        batch.Counts.Failed + batch.Counts.Cancelled == 0 ? ExitCodes.Success : ExitCodes.FitFailed;

    /// <summary>The media type the results are asked in, from the file name.</summary>
    public static string ResultsMediaType(string destination) =>
        Path.GetExtension(destination).ToLowerInvariant() is ".jsonl" or ".ndjson" or ".json" ? "application/x-ndjson" : "text/csv";

    private static async Task<List<BatchResult>> ResultsAsync(FitServiceClient client, BatchResource batch, CancellationToken cancellationToken)
    {
        var results = new List<BatchResult>();
        await foreach (var result in client.GetBatchResultsAsync(batch.Id, cancellationToken))
            results.Add(result);
        return results;
    }

    /// <summary>The results as the service writes them, copied to the file (or standard output).</summary>
    private static async Task WriteResultsAsync(FitServiceClient client, BatchResource batch, string destination, IAnsiConsole console, CancellationToken cancellationToken)
    {
        var format = ResultsMediaType(destination) == "text/csv" ? BatchResultsFormat.Csv : BatchResultsFormat.JsonLines;
        await using var results = await client.GetBatchResultsStreamAsync(batch.Id, format, cancellationToken);
        if (destination == "-")
        {
            using var reader = new StreamReader(results);
            Views.Raw(console, await reader.ReadToEndAsync(cancellationToken));
        }
        else
        {
            await using var file = File.Create(destination);
            await results.CopyToAsync(file, cancellationToken);
        }
    }

    private static async Task<BatchResource> FollowWithProgressBarAsync(IAnsiConsole console, FitServiceClient client, BatchResource batch, CancellationToken cancellationToken)
    {
        BatchResource? ended = null;
        await console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .StartAsync(async progress =>
            {
                var task = progress.AddTask(Describe(batch), maxValue: Math.Max(1, batch.Total));
                ended = await FitWatcher.FollowBatchAsync(client, batch, current =>
                {
                    task.Value = FitWatcher.Ended(current.Counts);
                    task.Description = Describe(current);
                }, cancellationToken);
                task.Value = FitWatcher.Ended(ended.Counts);
                task.Description = Describe(ended);
                task.StopTask();
            });
        return ended!;
    }

    private static string Describe(BatchResource b) =>
        Markup.Escape($"{FitWatcher.Ended(b.Counts)}/{b.Total} ended, {b.Counts.Running} running, {b.Counts.Failed + b.Counts.Cancelled} failed or cancelled");
}
