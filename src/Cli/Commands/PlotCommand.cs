using System.CommandLine;
using System.Diagnostics;
using FitService.Cli.Output;
using FitService.Cli.Plotting;
using Spectre.Console;

namespace FitService.Cli.Commands;

/// <summary>
/// <c>fitctl plot ID --out fit.png|fit.svg [--open]</c>: the service's plot of the points and the fitted curve, as its SVG or
/// drawn into a PNG here (<see cref="SvgRaster"/>, <see cref="PngWriter"/>: no external program).
/// </summary>
internal static class PlotCommand
{
    public static Command Create(CommandRunner runner)
    {
        var id = new Argument<string>("id") { Description = "The fit's id" };
        var file = new Option<string?>("--out", "-o") { Description = "Where to write the plot: a .png or .svg file [ID.svg]" };
        var open = new Option<bool>("--open") { Description = "Open the written file with the desktop's viewer" };
        var command = new Command("plot", "Write the plot of a fit's points and curve to a PNG or SVG file") { id, file, open };
        runner.Attach(command, async (parseResult, client, output, cancellationToken) =>
        {
            var fitId = parseResult.GetValue(id)!;
            var path = parseResult.GetValue(file) ?? $"{fitId}.svg";
            var png = path.EndsWith(".png", StringComparison.OrdinalIgnoreCase);
            if (!png && !path.EndsWith(".svg", StringComparison.OrdinalIgnoreCase))
                throw new UsageException($"--out {path}: give a file ending in .png or .svg");

            string svg;
            await using (var stream = await client.GetFitPlotAsync(fitId, cancellationToken))
            using (var reader = new StreamReader(stream))
                svg = await reader.ReadToEndAsync(cancellationToken);
            await using (var target = File.Create(path))
            {
                if (png)
                {
                    var picture = SvgRaster.Render(svg);
                    PngWriter.Write(target, picture.Width, picture.Height, picture.Pixels);
                }
                else
                {
                    await using var writer = new StreamWriter(target);
                    await writer.WriteAsync(svg);
                }
            }
            if (!output.Quiet) Views.Raw(runner.Context.Out, $"{path}\n");
            if (parseResult.GetValue(open)) Open(path, runner);
            return ExitCodes.Success;
        });
        return command;
    }

    private static void Open(string path, CommandRunner runner)
    {
        try
        {
            using var viewer = Process.Start(new ProcessStartInfo(Path.GetFullPath(path)) { UseShellExecute = true });
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or PlatformNotSupportedException)
        {
            runner.Context.Error.MarkupLine(Markup.Escape($"Wrote {path} but could not open it ({e.Message})."));
        }
    }
}
