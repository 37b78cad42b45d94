using Spectre.Console;

namespace FitService.Cli;

/// <summary>Where fitctl reads and writes, and how it reaches the service. Tests build one around
/// string writers, and may pass <see cref="Handler"/> to route HTTP to a test host instead of the network.</summary>
internal sealed class CliContext
{
    public required IAnsiConsole Out { get; init; }
    public required IAnsiConsole Error { get; init; }
    public TextReader In { get; init; } = TextReader.Null;
    /// <summary>Standard output is a file or a pipe: no progress animation, whatever the console claims.</summary>
    public bool OutputRedirected { get; init; }
    public Func<string, string?> GetEnvironmentVariable { get; init; } = Environment.GetEnvironmentVariable;
    public HttpMessageHandler? Handler { get; init; }

    public static CliContext FromProcess()
    {
        var error = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        if (Console.IsOutputRedirected)
            AnsiConsole.Console.Profile.Width = UnwrappedWidth;
        if (Console.IsErrorRedirected)
            error.Profile.Width = UnwrappedWidth;
        return new CliContext { Out = AnsiConsole.Console, Error = error, In = Console.In, OutputRedirected = Console.IsOutputRedirected };
    }

    /// <summary>Files and pipes get whole lines: a log or a script should not see messages broken at column 80.</summary>
    private const int UnwrappedWidth = 4096;

    /// <summary>A context that writes plain text (no colours, no animation) to the given writers.</summary>
    public static CliContext ForWriters(TextWriter output, TextWriter error, Func<string, string?>? environment = null, HttpMessageHandler? handler = null, TextReader? input = null) => new()
    {
        Out = PlainConsole(output),
        Error = PlainConsole(error),
        In = input ?? TextReader.Null,
        OutputRedirected = true,
        GetEnvironmentVariable = environment ?? Environment.GetEnvironmentVariable,
        Handler = handler,
    };

    private static IAnsiConsole PlainConsole(TextWriter writer)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = UnwrappedWidth;
        return console;
    }
}
