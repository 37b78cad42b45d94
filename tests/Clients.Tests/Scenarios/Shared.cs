// Shared by the C# scenarios (copied beside each generated client): checks, the lesson's points, waiting.
using System.Text.Json;

static class Scenario
{
    public static JsonElement Lesson { get; } = JsonDocument.Parse(File.ReadAllText("lesson.json")).RootElement;

    public static List<double> Numbers(string name) => Lesson.GetProperty(name).EnumerateArray().Select(e => e.GetDouble()).ToList();

    /// <summary>Rows of two features and a 0/1 label (1 when x0 + x1 > 2): the data of the mlp + bce scenario.</summary>
    public static double[][] Rows { get; } = [[0, 0], [0, 1], [1, 0], [1, 1], [2, 0], [0, 2], [2, 1], [1, 2], [2, 2], [3, 1], [1, 3], [3, 3]];

    public static double[] Labels { get; } = Rows.Select(r => r[0] + r[1] > 2 ? 1.0 : 0.0).ToArray();

    /// <summary>
    /// A fit with x as rows, in JSON: neither generated C# client can send a number[][] branch of x's oneOf (NSwag types x by
    /// its first branch, number[]; Kiota models the rows branch as an empty object), so the scenario sends this body itself.
    /// </summary>
    public static string MlpBceJson(string label) => JsonSerializer.Serialize(new
    {
        x = Rows, y = Labels, model = new { type = "mlp", layers = new[] { 4 }, activation = "tanh" }, loss = "bce", learningRate = 0.05,
        standardize = true, batchSize = 4, shuffle = true, seed = 1, epochs = 60, optimizer = new { type = "adam" }, label,
    });

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
