using System.Text.Json;

namespace FitService.Engine.Tests;

internal static class TestData
{
    public static JsonElement Load(string name) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Data", name))).RootElement;
}
