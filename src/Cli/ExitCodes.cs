namespace FitService.Cli;

/// <summary>What fitctl's exit code means; scripts rely on these.</summary>
internal static class ExitCodes
{
    public const int Success = 0;
    /// <summary>A fit (or a fit of a batch) failed or was cancelled.</summary>
    public const int FitFailed = 1;
    /// <summary>The command line, a points file, or the request the service validated was wrong: fix the command.</summary>
    public const int Usage = 2;
    /// <summary>The service could not be reached, or answered with an error that is not about the request's fields.</summary>
    public const int ServiceError = 3;
    /// <summary>Interrupted with Ctrl+C (128 + SIGINT, as shells report it).</summary>
    public const int Interrupted = 130;
}

/// <summary>A mistake in the command line found after parsing (an option that does not fit another, say).</summary>
internal sealed class UsageException(string message) : Exception(message);
