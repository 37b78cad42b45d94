// Shared by the C# scenarios (copied beside each generated client): checks, the lesson's points, waiting.
using System.Text.Json;

static class Scenario
{
    public static JsonElement Lesson { get; } = JsonDocument.Parse(File.ReadAllText("lesson.json")).RootElement;

    public static List<double> Numbers(string name) => Lesson.GetProperty(name).EnumerateArray().Select(e => e.GetDouble()).ToList();

    public static void Check(bool condition, string what)
    {
        if (!condition) throw new InvalidOperationException("scenario check failed: " + what);
        Console.WriteLine("ok: " + what);
    }

    /// <summary>Polls (with Prefer: wait, so rarely) until <paramref name="ended"/>, for at most five minutes.</summary>
    public static async Task<T> UntilAsync<T>(Func<Task<T>> read, Func<T, bool> ended, string what)
    {
        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (true)
        {
            var value = await read();
            if (ended(value)) return value;
            if (DateTime.UtcNow > deadline) throw new TimeoutException(what + " did not end within five minutes");
        }
    }
}
