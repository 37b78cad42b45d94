using FitService.Engine.Exact;

namespace FitService.Engine.Tests;

/// <summary>The blocked QR behind exact least squares gives the same bits on every machine, with or without vectors.</summary>
public class RowQrTests
{
    [Fact]
    public void TheDotProductIsBitForBitTheSameWithAndWithoutVectors()
    {
        var random = new Random(3);
        for (var length = 0; length <= 300; length++)
        {
            // Wide exponents and signs, so that a different order of additions would round differently.
            var a = Enumerable.Range(0, length).Select(_ => (random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-8, 9))).ToArray();
            var b = Enumerable.Range(0, length).Select(_ => (random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-8, 9))).ToArray();

            Assert.Equal(RowQr.Dot(a, b, vectors: false), RowQr.Dot(a, b, vectors: true));
        }
    }

    [Fact]
    public void TheBlockedTriangleSolvesLeastSquaresLikeTheRowByRowOne()
    {
        // AddAll forms the rows in blocks; Add takes them one at a time: the same triangle up to rounding.
        var random = new Random(5);
        var x = Enumerable.Range(0, 1000).Select(_ => random.NextDouble() * 10 - 3).ToArray();
        var y = x.Select(v => 1 - 2 * v + 0.5 * v * v + random.NextDouble()).ToArray();
        var basis = ScaledBasis.For(x, 2);
        var blocked = new RowQr(3);
        blocked.AddAll(basis, y, null);
        var single = new RowQr(3);
        Span<double> row = stackalloc double[3];
        for (var i = 0; i < x.Length; i++)
        {
            basis.Row(i, row);
            single.Add(row, y[i]);
        }

        var u = blocked.Solve();
        var v = single.Solve();
        for (var k = 0; k < 3; k++) Assert.Equal(v[k], u[k], 1e-12 * (1 + Math.Abs(v[k])));
    }
}
