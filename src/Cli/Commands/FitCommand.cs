using System.CommandLine;
using FitService.Cli.Input;
using FitService.Cli.Output;
using Spectre.Console;

namespace FitService.Cli.Commands;

/// <summary><c>fitctl fit data.csv --x temp --y sales</c> (any fit option besides): submit, follow, print params and loss.</summary>
internal static class FitCommand
{
    public static Command Create(CommandRunner runner)
    {
        var points = new Argument<string>("points") { Description = "CSV file of x,y rows (header optional), or - for standard input" };
        var xColumn = new Option<string?>("--x") { Description = "The x column of a wider CSV: its header name or 0-based index [x, or the first]; several for a network's features: --x age,fare" };
        var yColumn = new Option<string?>("--y") { Description = "The y column of a wider CSV: its header name or 0-based index [y, or the second]" };
        var weightsColumn = new Option<string?>("--weights", "--w") { Description = "A column of per-point weights (finite, ≥ 0): its header name or 0-based index [none]" };
        var fitOptions = new FitOptions();
        var label = new Option<string?>("--label") { Description = "Free text stored with the fit (max 200 chars)" };
        var idempotencyKey = new Option<string?>("--idempotency-key") { Description = "Repeating a submit with the same key returns the same fit" };
        var noWait = new Option<bool>("--no-wait") { Description = "Submit and print the queued fit without waiting for it" };

        var command = new Command("fit", "Fit a polynomial (or a formula, or a small neural network) to the points of a CSV file and print the params and final loss");
        command.Arguments.Add(points);
        fitOptions.AddTo(command);
        command.Options.Add(xColumn);
        command.Options.Add(yColumn);
        command.Options.Add(weightsColumn);
        command.Options.Add(label);
        command.Options.Add(idempotencyKey);
        command.Options.Add(noWait);

        runner.Attach(command, async (parseResult, client, output, cancellationToken) =>
        {
            var data = PointsCsv.Load(parseResult.GetValue(points)!, runner.Context.In, parseResult.GetValue(xColumn), parseResult.GetValue(yColumn),
                parseResult.GetValue(weightsColumn));
            var request = fitOptions.ToRequest(parseResult, data.WireX, data.Y, parseResult.GetValue(label), data.Weights);

            var fit = await client.SubmitFitAsync(request, parseResult.GetValue(idempotencyKey), cancellationToken: cancellationToken);
            if (parseResult.GetValue(noWait))
            {
                Print(runner.Context.Out, output, fit);
                return ExitCodes.Success;
            }
            if (!output.Json && !output.Quiet)
                runner.Context.Error.MarkupLine(Markup.Escape($"fit {fit.Id} submitted ({data.Count} points), following it…"));
            try
            {
                fit = output.Live
                    ? await FollowWithProgressBarAsync(runner.Context.Out, client, fit, cancellationToken)
                    : await FitWatcher.FollowAsync(client, fit, null, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Ctrl+C stops watching, not the fit: the work on the service is not thrown away by accident
                runner.Context.Error.MarkupLine(Markup.Escape($"Stopped following fit {fit.Id}; it goes on. 'fitctl get {fit.Id}' shows it, 'fitctl cancel {fit.Id}' stops it."));
                return ExitCodes.Interrupted;
            }
            Print(runner.Context.Out, output, fit, client.BaseAddress);
            return ExitCode(fit);
        });
        return command;
    }

    public static int ExitCode(FitResource fit) => fit.Status == FitStatuses.Succeeded ? ExitCodes.Success : ExitCodes.FitFailed;

    public static void Print(IAnsiConsole console, OutputMode output, FitResource fit, Uri? server = null)
    {
        if (output.Json)
            Views.Json(console, fit);
        else
            Views.Fit(console, fit, server);
    }

    /// <summary>A progress bar over the steps whose description shows the current loss.</summary>
    private static async Task<FitResource> FollowWithProgressBarAsync(IAnsiConsole console, FitServiceClient client, FitResource fit, CancellationToken cancellationToken)
    {
        FitResource? ended = null;
        await console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .StartAsync(async progress =>
            {
                var task = progress.AddTask(Describe(fit.Step, fit.Loss), maxValue: Math.Max(1, fit.Steps));
                ended = await FitWatcher.FollowAsync(client, fit, update =>
                {
                    task.Value = update.Step;
                    task.Description = Describe(update.Step, update.Loss);
                }, cancellationToken);
                task.Value = ended.Status == FitStatuses.Succeeded ? task.MaxValue : ended.Step;
                task.Description = Describe(ended.Step, ended.Loss) + " " + Markup.Escape(ended.Status);
                task.StopTask();
            });
        Views.LossLine(console, ended!);
        return ended!;
    }

    private static string Describe(long step, double? loss) =>
        loss is { } l ? $"step {step,7}  loss {Views.Number(l),-10}" : $"step {step,7}  {"",-15}";
}
