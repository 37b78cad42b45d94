using System.CommandLine;
using FitService.Cli.Output;
using Spectre.Console;

namespace FitService.Cli.Commands;

/// <summary>The commands over existing fits: get, list, cancel, delete, history.</summary>
internal static class FitResourceCommands
{
    /// <summary>History pages fetched for <c>--all</c>.</summary>
    private const int HistoryPageSize = 10_000;

    /// <summary>How long <c>cancel</c> waits for a running fit to stop before printing it.</summary>
    private const int CancelWaitSeconds = 10;

    public static Command Get(CommandRunner runner)
    {
        var id = IdArgument();
        var wait = new Option<int?>("--wait", "-w") { Description = "Wait up to this many seconds (≤ 60) for the fit to end" };
        var command = new Command("get", "Show one fit: status, steps, params, loss") { id, wait };
        runner.Attach(command, async (parseResult, client, output, cancellationToken) =>
        {
            var fit = await client.GetFitAsync(parseResult.GetValue(id)!, parseResult.GetValue(wait) is { } seconds ? TimeSpan.FromSeconds(seconds) : null, cancellationToken);
            FitCommand.Print(runner.Context.Out, output, fit, client.BaseAddress);
            return ExitCodes.Success;
        });
        return command;
    }

    public static Command List(CommandRunner runner)
    {
        var status = new Option<string?>("--status") { Description = "Only fits with this status (queued, running, succeeded, failed, cancelled)" };
        status.AcceptOnlyFromAmong(FitStatuses.Queued, FitStatuses.Running, FitStatuses.Succeeded, FitStatuses.Failed, FitStatuses.Cancelled);
        var label = new Option<string?>("--label") { Description = "Only fits with this label" };
        var limit = new Option<int?>("--limit") { Description = "Fits per page" };
        var cursor = new Option<string?>("--cursor") { Description = "Continue from the 'next' cursor of an earlier page" };
        var all = new Option<bool>("--all") { Description = "Follow the cursors and list every matching fit" };
        var command = new Command("list", "List fits, newest first") { status, label, limit, cursor, all };
        runner.Attach(command, async (parseResult, client, output, cancellationToken) =>
        {
            var items = new List<FitResource>();
            var next = parseResult.GetValue(cursor);
            do
            {
                var page = await client.ListFitsAsync(parseResult.GetValue(status), parseResult.GetValue(label), parseResult.GetValue(limit), next, cancellationToken);
                items.AddRange(page.Items);
                next = page.Next;
            }
            while (parseResult.GetValue(all) && next is not null);

            if (output.Json)
                Views.Json(runner.Context.Out, new FitList(items, next));
            else
                Views.FitList(runner.Context.Out, items, next);
            return ExitCodes.Success;
        });
        return command;
    }

    public static Command Cancel(CommandRunner runner)
    {
        var id = IdArgument();
        var command = new Command("cancel", "Stop a queued or running fit") { id };
        runner.Attach(command, async (parseResult, client, output, cancellationToken) =>
        {
            var fit = await client.CancelFitAsync(parseResult.GetValue(id)!, cancellationToken);
            // The service answers 202 while a running fit is still stopping: wait (briefly) to print it cancelled, not "running".
            if (fit.Status is FitStatuses.Queued or FitStatuses.Running)
                fit = await client.GetFitAsync(fit.Id, TimeSpan.FromSeconds(CancelWaitSeconds), cancellationToken);
            FitCommand.Print(runner.Context.Out, output, fit);
            return ExitCodes.Success;
        });
        return command;
    }

    public static Command Delete(CommandRunner runner)
    {
        var id = IdArgument();
        var command = new Command("delete", "Remove a fit (cancelling it first if it runs)") { id };
        runner.Attach(command, async (parseResult, client, output, cancellationToken) =>
        {
            var fitId = parseResult.GetValue(id)!;
            await client.DeleteFitAsync(fitId, cancellationToken);
            if (output.Json)
                Views.Json(runner.Context.Out, new { id = fitId, deleted = true });
            else if (!output.Quiet)
                runner.Context.Out.MarkupLine(Markup.Escape($"fit {fitId} deleted"));
            return ExitCodes.Success;
        });
        return command;
    }

    public static Command History(CommandRunner runner)
    {
        var id = IdArgument();
        var offset = new Option<int?>("--offset") { Description = "First history entry to show" };
        var limit = new Option<int?>("--limit") { Description = "Entries per page" };
        var all = new Option<bool>("--all") { Description = "Every entry from --offset on, fetching page after page" };
        var csv = new Option<bool>("--csv") { Description = "Write step,loss CSV (with header) instead of a table" };
        var command = new Command("history", "Show the loss per step of a fit") { id, offset, limit, all, csv };
        runner.Attach(command, async (parseResult, client, output, cancellationToken) =>
        {
            var fitId = parseResult.GetValue(id)!;
            var start = parseResult.GetValue(offset);
            var pageSize = parseResult.GetValue(limit) ?? (parseResult.GetValue(all) ? HistoryPageSize : null);
            if (parseResult.GetValue(csv) && !parseResult.GetValue(all))
            {
                Views.Raw(runner.Context.Out, await client.GetHistoryCsvAsync(fitId, start, pageSize, cancellationToken));
                return ExitCodes.Success;
            }

            var page = await client.GetHistoryPageAsync(fitId, start, pageSize, cancellationToken);
            var points = page.Items.ToList();
            while (parseResult.GetValue(all) && page.Items.Count > 0 && page.Offset + page.Items.Count < page.Total)
            {
                page = await client.GetHistoryPageAsync(fitId, page.Offset + page.Items.Count, pageSize, cancellationToken);
                points.AddRange(page.Items);
            }

            if (parseResult.GetValue(csv))
                Views.Raw(runner.Context.Out, HistoryCsv(points));
            else if (output.Json)
                Views.Json(runner.Context.Out, page with { Offset = start ?? 0, Limit = points.Count, Items = points });
            else
                Views.History(runner.Context.Out, points);
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>The service's <c>step,loss</c> CSV, for histories gathered from several pages.</summary>
    public static string HistoryCsv(IEnumerable<HistoryEntry> points) =>
        "step,loss\n" + string.Concat(points.Select(p => FormattableString.Invariant($"{p.Step},{p.Loss:R}\n")));

    private static Argument<string> IdArgument() => new("id") { Description = "The fit's id" };
}
