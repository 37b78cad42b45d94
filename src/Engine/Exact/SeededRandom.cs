namespace FitService.Engine.Exact;

/// <summary>
/// The numbers <c>new Random(seed).Next(maxValue)</c> gives (.NET's seeded generator: Knuth's subtractive method, which
/// .NET keeps unchanged for seeded instances so that their sequences never change), without a Random and its state array
/// per use: the simplex walk draws its selection pivots from a fresh seeded generator at every step. The starting state of
/// a seed is computed once and kept (seeds below <see cref="Kept"/>); the caller holds the running state on its stack.
/// SeededRandomTests hold it to System.Random over thousands of seeds.
/// </summary>
internal ref struct SeededRandom
{
    /// <summary>The length of the state: entries 1 to 55 are used, as Knuth's.</summary>
    public const int StateLength = 56;

    private const int Kept = 1024;
    private static readonly int[]?[] Starts = new int[Kept][];

    private readonly Span<int> _state;
    private int _next;
    private int _nextP;

    /// <summary>The generator of <paramref name="seed"/>, running in <paramref name="state"/> (<see cref="StateLength"/> entries).</summary>
    public SeededRandom(int seed, Span<int> state)
    {
        // Two threads may both compute a seed's start (the same numbers); the volatile write publishes a filled array.
        var kept = seed is >= 0 and < Kept;
        var start = kept ? Volatile.Read(ref Starts[seed]) : null;
        if (start is null)
        {
            start = Start(seed);
            if (kept) Volatile.Write(ref Starts[seed], start);
        }
        start.CopyTo(state);
        _state = state;
        _next = 0;
        _nextP = 21;
    }

    /// <summary>A number in [0, <paramref name="maxValue"/>), as <see cref="Random.Next(int)"/> of a seeded Random.</summary>
    public int Next(int maxValue) => (int)(Sample() * (1.0 / int.MaxValue) * maxValue);

    private int Sample()
    {
        var next = _next + 1;
        if (next >= StateLength) next = 1;
        var nextP = _nextP + 1;
        if (nextP >= StateLength) nextP = 1;
        var value = _state[next] - _state[nextP];
        if (value == int.MaxValue) value--;
        if (value < 0) value += int.MaxValue;
        _state[next] = value;
        (_next, _nextP) = (next, nextP);
        return value;
    }

    private static int[] Start(int seed)
    {
        var state = new int[StateLength];
        var subtraction = seed == int.MinValue ? int.MaxValue : Math.Abs(seed);
        var mj = 161803398 - subtraction;
        state[55] = mj;
        var mk = 1;
        var ii = 0;
        for (var i = 1; i < 55; i++)
        {
            if ((ii += 21) >= 55) ii -= 55;
            state[ii] = mk;
            mk = mj - mk;
            if (mk < 0) mk += int.MaxValue;
            mj = state[ii];
        }
        for (var k = 1; k < 5; k++)
            for (var i = 1; i < 56; i++)
            {
                var n = i + 30;
                if (n >= 55) n -= 55;
                state[i] -= state[1 + n];
                if (state[i] < 0) state[i] += int.MaxValue;
            }
        return state;
    }
}
