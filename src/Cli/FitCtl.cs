using System.CommandLine;
using FitService.Cli.Commands;
using Spectre.Console;

namespace FitService.Cli;

/// <summary>fitctl's command tree, and its entry point for the process and for tests.</summary>
internal static class FitCtl
{
    public static RootCommand BuildRootCommand(CliContext context)
    {
        var global = new GlobalOptions();
        var runner = new CommandRunner(context, global);
        var root = new RootCommand("fitctl: fit polynomials with FitService from the command line and from scripts.");
        global.AddTo(root);
        root.Subcommands.Add(FitCommand.Create(runner));
        root.Subcommands.Add(BatchCommand.Create(runner));
        root.Subcommands.Add(FitResourceCommands.Get(runner));
        root.Subcommands.Add(FitResourceCommands.List(runner));
        root.Subcommands.Add(FitResourceCommands.Cancel(runner));
        root.Subcommands.Add(FitResourceCommands.Delete(runner));
        root.Subcommands.Add(FitResourceCommands.History(runner));
        root.Subcommands.Add(PredictCommand.Create(runner));
        root.Subcommands.Add(PlotCommand.Create(runner));
        return root;
    }

    /// <summary>Runs one command line. Parse errors print with the help and exit with <see cref="ExitCodes.Usage"/>.</summary>
    public static async Task<int> RunAsync(string[] args, CliContext context, CancellationToken cancellationToken = default)
    {
        var parseResult = BuildRootCommand(context).Parse(args);
        var configuration = new InvocationConfiguration
        {
            Output = context.Out.Profile.Out.Writer,
            Error = context.Error.Profile.Out.Writer,
        };
        if (parseResult.Errors.Count > 0)
        {
            foreach (var error in parseResult.Errors)
                context.Error.MarkupLine($"[red]{Markup.Escape(error.Message)}[/]");
            context.Error.MarkupLine(Markup.Escape($"Run '{CommandPath(parseResult)} --help' for usage."));
            return ExitCodes.Usage;
        }
        return await parseResult.InvokeAsync(configuration, cancellationToken);
    }

    private static string CommandPath(ParseResult parseResult) =>
        parseResult.CommandResult.Command is RootCommand ? "fitctl" : $"fitctl {parseResult.CommandResult.Command.Name}";
}
