namespace FitService.Engine.Networks;

/// <summary>
/// The documented generator of a network's initialization and shuffle: xoshiro256** (Blackman and Vigna) with its state
/// filled by SplitMix64, so a Python user can reproduce every draw with integer arithmetic mod 2^64:
/// <code>
/// def splitmix64(s):                       # returns (new s, output)
///     s = (s + 0x9E3779B97F4A7C15) % 2**64
///     z = s
///     z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) % 2**64
///     z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % 2**64
///     return s, z ^ (z >> 31)
/// state = four successive splitmix64 outputs from s = seed
/// next():  result = rotl((state[1] * 5) % 2**64, 7) * 9 % 2**64
///          t = state[1] &lt;&lt; 17 % 2**64; state[2] ^= state[0]; state[3] ^= state[1]; state[1] ^= state[2];
///          state[0] ^= state[3]; state[2] ^= t; state[3] = rotl(state[3], 45)
/// uniform(): (next() >> 11) * 2**-53        # in [0, 1), 53 random bits
/// below(n):  (next() * n) >> 64             # an integer in [0, n) (Lemire's multiply-high, no rejection)
/// </code>
/// The initialization draws from the stream seeded with <c>seed</c>; the shuffle from the stream seeded with
/// <c>seed ^ 0xD1B54A32D192ED03</c>, so one does not depend on whether the other was used.
/// </summary>
public sealed class NetworkRandom
{
    /// <summary>XORed into the seed for the shuffle's stream.</summary>
    public const ulong ShuffleStream = 0xD1B54A32D192ED03;

    private ulong _s0, _s1, _s2, _s3;

    /// <summary>A stream seeded with <paramref name="seed"/> (state from SplitMix64).</summary>
    public NetworkRandom(ulong seed)
    {
        _s0 = SplitMix64(ref seed);
        _s1 = SplitMix64(ref seed);
        _s2 = SplitMix64(ref seed);
        _s3 = SplitMix64(ref seed);
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong Next()
    {
        var result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>A uniform double in [0, 1): the top 53 bits of <see cref="Next"/> times 2^−53.</summary>
    public double Uniform() => (Next() >> 11) * (1.0 / (1UL << 53));

    /// <summary>An integer in [0, <paramref name="n"/>): the high 64 bits of Next() · n.</summary>
    public int Below(int n) => (int)Math.BigMul(Next(), (ulong)n, out _);

    /// <summary>
    /// Fisher–Yates from the end, as one epoch's order: <paramref name="order"/> is first reset to 0, 1, …, n−1, then for
    /// i = n−1 down to 1: j = Below(i + 1), swap order[i] and order[j].
    /// </summary>
    public void Permutation(int[] order)
    {
        for (var i = 0; i < order.Length; i++) order[i] = i;
        for (var i = order.Length - 1; i >= 1; i--)
        {
            var j = Below(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
    }

    private static ulong SplitMix64(ref ulong state)
    {
        state += 0x9E3779B97F4A7C15;
        var z = state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }
}
