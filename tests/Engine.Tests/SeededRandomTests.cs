using FitService.Engine.Exact;

namespace FitService.Engine.Tests;

/// <summary>The exact solver's allocation-free seeded generator gives the very numbers of a seeded System.Random.</summary>
public class SeededRandomTests
{
    [Fact]
    public void EverySeedGivesTheNumbersOfASeededSystemRandom()
    {
        var draws = new Random(12345);
        Span<int> state = stackalloc int[SeededRandom.StateLength];
        foreach (var seed in Enumerable.Range(0, 3000).Concat([4095, 65_536, 1_000_003, int.MaxValue, int.MinValue, -1, -77]))
        {
            var expected = new Random(seed);
            var actual = new SeededRandom(seed, state);
            for (var k = 0; k < 200; k++)
            {
                var max = draws.Next(5) == 0 ? draws.Next(1, int.MaxValue) : draws.Next(1, 3000);
                Assert.Equal(expected.Next(max), actual.Next(max));
            }
        }
    }

    [Fact]
    public void ASeedStartsAgainFromTheSameNumbersEachTime()
    {
        Span<int> state = stackalloc int[SeededRandom.StateLength];
        var first = new SeededRandom(17, state);
        int[] a = [first.Next(100), first.Next(100), first.Next(100)];
        var second = new SeededRandom(17, state);
        int[] b = [second.Next(100), second.Next(100), second.Next(100)];
        var reference = new Random(17);
        Assert.Equal([reference.Next(100), reference.Next(100), reference.Next(100)], a);
        Assert.Equal(a, b);
    }
}
