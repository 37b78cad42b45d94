using System.CommandLine;
using System.Net;
using FitService.Cli.Input;
using FitService.Cli.Output;
using Spectre.Console;

namespace FitService.Cli.Commands;

/// <summary>What every command's action shares: a client built from the global options, the output mode,
/// and one place that turns failures into readable messages and exit codes.</summary>
internal sealed class CommandRunner(CliContext context, GlobalOptions global)
{
    public CliContext Context => context;

    public delegate Task<int> Action(ParseResult parseResult, FitServiceClient client, OutputMode output, CancellationToken cancellationToken);

    public void Attach(Command command, Action action) =>
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            try
            {
                var output = global.ResolveOutput(parseResult, context);
                using var http = GlobalOptions.CreateHttpClient(context);
                var client = global.CreateClient(http, parseResult, context);
                try
                {
                    return await action(parseResult, client, output, cancellationToken);
                }
                catch (Exception e) when (FitServiceUnavailableException.From(e, client.BaseAddress) is { } unavailable)
                {
                    return Fail(unavailable, context.Error, cancellationToken);
                }
            }
            catch (UsageException e)
            {
                // Options that contradict each other, found after parsing: answered like a parse error.
                Fail(e, context.Error, cancellationToken);
                context.Error.MarkupLine(Markup.Escape($"Run 'fitctl {command.Name} --help' for usage."));
                return ExitCodes.Usage;
            }
            catch (Exception e)
            {
                return Fail(e, context.Error, cancellationToken);
            }
        });

    /// <summary>Writes <paramref name="error"/> for a person and returns the exit code it stands for; unexpected exceptions propagate.</summary>
    public static int Fail(Exception error, IAnsiConsole console, CancellationToken cancellationToken = default)
    {
        switch (error)
        {
            case FitServiceProblemException e:
                Write(console, ProblemText.Lines(e));
                return e.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.UnprocessableEntity ? ExitCodes.Usage : ExitCodes.ServiceError;
            case FitServiceUnavailableException e:
                Write(console, ProblemText.Lines(e));
                return ExitCodes.ServiceError;
            case PointsFormatException or UsageException:
                Write(console, [$"Error: {error.Message}"]);
                return ExitCodes.Usage;
            case OperationCanceledException when cancellationToken.IsCancellationRequested:
                Write(console, ["Interrupted."]);
                return ExitCodes.Interrupted;
            default:
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
                return -1;
        }
    }

    private static void Write(IAnsiConsole console, IEnumerable<string> lines)
    {
        var first = true;
        foreach (var line in lines)
        {
            console.MarkupLine(first ? $"[red]{Markup.Escape(line)}[/]" : Markup.Escape(line));
            first = false;
        }
    }
}
