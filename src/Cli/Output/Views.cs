using System.Globalization;
using System.Text;
using System.Text.Json;
using Spectre.Console;

namespace FitService.Cli.Output;

/// <summary>What fitctl prints: JSON for <c>--json</c>, tables for people.</summary>
internal static class Views
{
    /// <summary>The service's own JSON (same names, times and numbers), indented.</summary>
    private static readonly JsonSerializerOptions JsonOutput = new(FitServiceJson.Options) { WriteIndented = true };

    public static void Json<T>(IAnsiConsole console, T value) =>
        console.Profile.Out.Writer.WriteLine(JsonSerializer.Serialize(value, JsonOutput));

    /// <summary>Text written as is (CSV, JSON lines), bypassing markup and line wrapping.</summary>
    public static void Raw(IAnsiConsole console, string text)
    {
        console.Profile.Out.Writer.Write(text);
        if (text.Length > 0 && !text.EndsWith('\n'))
            console.Profile.Out.Writer.WriteLine();
    }

    /// <summary>A fit; with <paramref name="server"/>, also the address of its plot.</summary>
    public static void Fit(IAnsiConsole console, FitResource fit, Uri? server = null)
    {
        var grid = new Grid().AddColumn(new GridColumn().NoWrap()).AddColumn();
        Row(grid, "fit", fit.Label is null ? fit.Id : $"{fit.Id}  ({fit.Label})");
        Row(grid, "status", fit.StopReason is null ? fit.Status : $"{fit.Status} ({fit.StopReason})", StatusColor(fit.Status));
        Row(grid, "steps", $"{fit.Step}/{fit.Steps}");
        if (fit.Loss is { } loss)
            Row(grid, "loss", Number(loss));
        if (fit.LearningRateChosen is { } chosen)
            Row(grid, "learning rate", $"{Number(chosen)} (chosen by the finder)");
        if (fit.Params is { } p)
        {
            if (fit.Request.Model is { Formula: { } formula } model)
            {
                var names = model.Params ?? [];
                Row(grid, "params", string.Join(", ", p.Select((value, i) => $"{(i < names.Length ? names[i] : $"p{i}")} = {Number(value)}")));
                Row(grid, "f(x)", formula);
            }
            else
            {
                Row(grid, "params", string.Join(", ", p.Select(Number)));
                Row(grid, "f(x)", Polynomial(p));
            }
        }
        // The service inlines only the first entries of a long history (Limits:MaxInlineHistory) and says so.
        if (fit is { HistoryTruncated: true, HistoryTotal: { } total })
            Row(grid, "history", $"first {fit.History?.Length ?? 0} of {total} entries shown; all: fitctl history {fit.Id} --all");
        if (fit.Error is { Length: > 0 } error)
            Row(grid, "error", error, "red");
        if (fit.Optimum is { } optimum)
        {
            Row(grid, "optimum", $"{(optimum.Loss is { } best ? $"loss {Number(best)}" : "loss not finite")} at {string.Join(", ", optimum.Params.Select(Number))}");
            if (fit.Gap is { } gap) Row(grid, "gap", $"{Number(gap)} (loss − optimum loss)");
        }
        else if (fit.OptimumStatus == "pending")
            Row(grid, "optimum", $"being computed; fitctl get {fit.Id} shows it");
        else if (fit.OptimumError is { Length: > 0 } why)
            Row(grid, "optimum", $"not computed: {why}");
        foreach (var warning in fit.Warnings ?? [])
            Row(grid, "warning", warning, "yellow");
        if (server is not null)
            Row(grid, "plot", new Uri(server, $"v1/fits/{Uri.EscapeDataString(fit.Id)}/plot.svg").ToString());
        console.Write(grid);
    }

    public static void FitList(IAnsiConsole console, IReadOnlyList<FitResource> fits, string? next)
    {
        var table = new Table().Border(TableBorder.Simple)
            .AddColumns("id", "status", "label", "steps", "loss", "created");
        foreach (var fit in fits)
        {
            table.AddRow(
                Markup.Escape(fit.Id),
                $"[{StatusColor(fit.Status)}]{Markup.Escape(fit.Status)}[/]",
                Markup.Escape(fit.Label ?? ""),
                $"{fit.Step}/{fit.Steps}",
                fit.Loss is { } l ? Number(l) : "",
                fit.CreatedAt.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture));
        }
        console.Write(table);
        if (next is not null)
            console.MarkupLine($"[grey]more: --cursor {Markup.Escape(next)}[/]");
    }

    public static void History(IAnsiConsole console, IReadOnlyList<HistoryEntry> points)
    {
        var table = new Table().Border(TableBorder.Simple).AddColumn(new TableColumn("step").RightAligned()).AddColumn(new TableColumn("loss").RightAligned());
        foreach (var point in points)
            table.AddRow(point.Step.ToString(CultureInfo.InvariantCulture), point.Loss is { } loss ? Number(loss) : "");
        console.Write(table);
    }

    public static void BatchResults(IAnsiConsole console, IReadOnlyList<BatchResult> results)
    {
        var table = new Table().Border(TableBorder.Simple).AddColumns("label", "status", "loss", "params");
        foreach (var r in results)
        {
            var status = r.StopReason is null ? r.Status : $"{r.Status} ({r.StopReason})";
            table.AddRow(
                Markup.Escape(r.Label ?? r.Id),
                $"[{StatusColor(r.Status)}]{Markup.Escape(status)}[/]",
                r.Loss is { } l ? Number(l) : "",
                Markup.Escape(r.Params is { } p ? string.Join(", ", p.Select(Number)) : r.Error ?? ""));
        }
        console.Write(table);
    }

    public static void BatchSummary(IAnsiConsole console, BatchResource batch) =>
        console.MarkupLine(Markup.Escape($"batch {batch.Id}: {batch.Counts.Succeeded} succeeded, {batch.Counts.Failed} failed, {batch.Counts.Cancelled} cancelled of {batch.Total}"));

    /// <summary>The eight heights of a <see cref="Sparkline"/>, lowest first.</summary>
    private const string Bars = "▁▂▃▄▅▆▇█";

    /// <summary>
    /// The loss history as one line of at most <paramref name="width"/> bars, each the mean of its share of the entries: on a
    /// log scale when every value is positive (losses fall by orders of magnitude), linear otherwise. Non-finite entries
    /// or absent (a diverged fit's last) are left out, and a column with none is a space; no finite entry draws nothing.
    /// </summary>
    public static string Sparkline(IReadOnlyList<double?> values, int width)
    {
        if (values.Count == 0 || width < 1) return "";
        var finite = values.Where(Finite).Select(v => v!.Value).ToList();
        if (finite.Count == 0) return "";
        var logScale = finite.All(v => v > 0);
        double Scale(double v) => logScale ? Math.Log10(v) : v;
        var columns = Math.Min(width, values.Count);
        var means = new double[columns];
        for (var c = 0; c < columns; c++)
        {
            // Entries [from, to) go into column c; every entry into exactly one column.
            int from = (int)((long)c * values.Count / columns), to = (int)((long)(c + 1) * values.Count / columns);
            var sum = 0.0;
            var count = 0;
            for (var i = from; i < to; i++)
            {
                if (!Finite(values[i])) continue;
                sum += Scale(values[i]!.Value);
                count++;
            }
            means[c] = count == 0 ? double.NaN : sum / count;
        }
        var drawn = means.Where(double.IsFinite).ToList();
        double low = drawn.Min(), high = drawn.Max();
        var line = new StringBuilder(columns);
        foreach (var mean in means)
        {
            if (!double.IsFinite(mean)) line.Append(' ');
            else if (!(high > low)) line.Append(Bars[0]);
            else line.Append(Bars[(int)Math.Round((mean - low) / (high - low) * (Bars.Length - 1))]);
        }
        return line.ToString();
    }

    /// <summary>A loss the service reported as a finite number (it writes a non-finite one as null).</summary>
    private static bool Finite(double? value) => value is { } v && double.IsFinite(v);

    /// <summary>The loss under a live progress bar: its first and last values either side of its <see cref="Sparkline"/>.</summary>
    public static void LossLine(IAnsiConsole console, FitResource fit)
    {
        if (fit.History is not { Length: > 1 } history || !history.Any(Finite)) return;
        var width = Math.Clamp(console.Profile.Width - 30, 10, 100);
        var first = history.First(Finite)!.Value;
        var last = history.Last(Finite)!.Value;
        var more = fit.HistoryTruncated == true ? " (first entries)" : "";
        console.MarkupLine(Markup.Escape($"loss {Number(first)} {Sparkline(history, width)} {Number(last)}{more}"));
    }

    /// <summary>Six significant digits: enough to read, JSON keeps them all.</summary>
    public static string Number(double value) => value.ToString("G6", CultureInfo.InvariantCulture);

    /// <summary>The model with these params, highest power first: <c>2.98·x² + 2.01·x + 1.03</c>.</summary>
    public static string Polynomial(IReadOnlyList<double> p)
    {
        var text = new StringBuilder();
        for (var i = 0; i < p.Count; i++)
        {
            var power = p.Count - 1 - i;
            var c = p[i];
            text.Append(i == 0 ? (c < 0 ? "-" : "") : c < 0 ? " - " : " + ");
            text.Append(Number(Math.Abs(c)));
            if (power >= 1)
                text.Append("·x");
            if (power >= 2)
                text.Append(Superscript(power));
        }
        return text.ToString();
    }

    private static string Superscript(int n) =>
        string.Concat(n.ToString(CultureInfo.InvariantCulture).Select(d => "⁰¹²³⁴⁵⁶⁷⁸⁹"[d - '0']));

    private static string StatusColor(string status) => status switch
    {
        FitStatuses.Succeeded => "green",
        FitStatuses.Failed => "red",
        FitStatuses.Cancelled => "yellow",
        _ => "blue",
    };

    private static void Row(Grid grid, string name, string value, string? color = null) =>
        grid.AddRow(new Markup($"[bold]{name}[/]"), new Markup(color is null ? Markup.Escape(value) : $"[{color}]{Markup.Escape(value)}[/]"));
}
