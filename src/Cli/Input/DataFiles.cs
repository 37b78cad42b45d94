namespace FitService.Cli.Input;

/// <summary>Expands file arguments; patterns with <c>*</c> or <c>?</c> are expanded here too, for shells (and Windows) that pass them through.</summary>
internal static class DataFiles
{
    public static IReadOnlyList<string> Expand(IEnumerable<string> arguments)
    {
        var files = new List<string>();
        foreach (var argument in arguments)
        {
            if (File.Exists(argument) || argument.IndexOfAny(['*', '?']) < 0)
            {
                files.Add(argument);
                continue;
            }
            var directory = Path.GetDirectoryName(argument) is { Length: > 0 } d ? d : ".";
            var pattern = Path.GetFileName(argument);
            var matches = Directory.Exists(directory)
                ? Directory.GetFiles(directory, pattern).Select(f => directory == "." && !argument.StartsWith('.') ? Path.GetFileName(f) : f).Order(StringComparer.Ordinal).ToList()
                : [];
            if (matches.Count == 0)
                throw new UsageException($"no files match '{argument}'");
            files.AddRange(matches);
        }
        return files;
    }
}
