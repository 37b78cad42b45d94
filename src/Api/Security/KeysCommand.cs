using System.Text.Json;
using FitService.Api.Auth;

namespace FitService.Api.Security;

/// <summary>
/// <c>dotnet run --project src/Api -- keys new --tenant acme</c>: prints a new API key once, and the configuration that
/// accepts it (only the hash is ever stored). <c>--admin</c> makes a dashboard key instead.
/// </summary>
public static class KeysCommand
{
    public static bool IsKeysCommand(string[] args) => args.Length > 0 && args[0] == "keys";

    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var tenant = Value(args, "--tenant");
        var admin = args.Contains("--admin");
        var index = int.TryParse(Value(args, "--index"), out var n) && n >= 0 ? n : 0;
        if (args.Length < 2 || args[1] != "new" || (tenant is null) == !admin || tenant is { Length: 0 })
        {
            error.WriteLine("usage: keys new --tenant NAME [--index N]    a client key for tenant NAME (N: its position in Auth:Keys, default 0)");
            error.WriteLine("       keys new --admin [--index N]          a key for the Hangfire dashboard (Auth:AdminKeys)");
            return 2;
        }

        var (key, hash) = ApiKeys.Generate();
        output.WriteLine($"API key (shown once; give it to the client, store it nowhere else): {key}");
        output.WriteLine();
        if (admin)
        {
            output.WriteLine("Environment variables:");
            output.WriteLine($"Auth__AdminKeys__{index}={hash}");
            output.WriteLine();
            output.WriteLine("appsettings.json:");
            output.WriteLine(JsonSerializer.Serialize(new { Auth = new { AdminKeys = new[] { hash } } }, Indented));
        }
        else
        {
            output.WriteLine("Environment variables:");
            output.WriteLine($"Auth__Keys__{index}__Tenant={tenant}");
            output.WriteLine($"Auth__Keys__{index}__Hash={hash}");
            output.WriteLine();
            output.WriteLine("appsettings.json:");
            output.WriteLine(JsonSerializer.Serialize(new { Auth = new { Keys = new[] { new { Tenant = tenant, Hash = hash } } } }, Indented));
        }
        return 0;
    }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private static string? Value(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
