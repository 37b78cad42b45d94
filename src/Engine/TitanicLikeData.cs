using FitService.Engine.Networks;

namespace FitService.Engine;

/// <summary>
/// A Titanic-like table, made up (no data is downloaded) by a documented generator that Python reproduces bit for bit
/// (bench/torch_reference.py <c>titanic_like</c>): only uniform draws of <see cref="NetworkRandom"/> and + − × /, no
/// transcendental function. Columns: pclass (1, 2, 3), sex (1 female, 0 male), age, sibsp, parch, fare; the target
/// survived (0 or 1). Row by row, from <c>NetworkRandom(seed)</c>:
/// <code>
/// u = uniform(); pclass = 1 if u &lt; 0.25 else 2 if u &lt; 0.45 else 3
/// sex = 1 if uniform() &lt; 0.35 else 0
/// age = 1 + 69 * uniform()
/// sibsp = below(4); parch = below(3)
/// fare = {1: 60 + 200 u, 2: 15 + 30 u, 3: 5 + 20 u}[pclass] with u = uniform()
/// p = 0.15 + 0.55 sex + (0.2 if pclass == 1 else 0.1 if pclass == 2 else 0) - 0.003 (age - 30) - 0.05 sibsp
/// p = min(max(p, 0.02), 0.98); survived = 1 if uniform() &lt; p else 0
/// </code>
/// </summary>
public static class TitanicLikeData
{
    /// <summary>The feature names, in column order.</summary>
    public static IReadOnlyList<string> Columns { get; } = ["pclass", "sex", "age", "sibsp", "parch", "fare"];

    /// <summary><paramref name="rows"/> rows: X row-major (rows × 6, <see cref="Columns"/>), Y the survived flags.</summary>
    public static (double[] X, double[] Y) Generate(int rows, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        var random = new NetworkRandom(seed);
        var x = new double[rows * Columns.Count];
        var y = new double[rows];
        for (var i = 0; i < rows; i++)
        {
            var u = random.Uniform();
            var pclass = u < 0.25 ? 1 : u < 0.45 ? 2 : 3;
            var sex = random.Uniform() < 0.35 ? 1.0 : 0.0;
            var age = 1 + 69 * random.Uniform();
            var sibsp = random.Below(4);
            var parch = random.Below(3);
            var f = random.Uniform();
            var fare = pclass switch { 1 => 60 + 200 * f, 2 => 15 + 30 * f, _ => 5 + 20 * f };
            var p = 0.15 + 0.55 * sex + (pclass == 1 ? 0.2 : pclass == 2 ? 0.1 : 0.0) - 0.003 * (age - 30) - 0.05 * sibsp;
            p = Math.Min(Math.Max(p, 0.02), 0.98);
            y[i] = random.Uniform() < p ? 1.0 : 0.0;
            double[] row = [pclass, sex, age, sibsp, parch, fare];
            row.CopyTo(x, i * row.Length);
        }
        return (x, y);
    }
}
