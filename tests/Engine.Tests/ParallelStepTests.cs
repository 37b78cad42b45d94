using FitService.Engine.Autodiff;

namespace FitService.Engine.Tests;

/// <summary>Big fits on several threads: fixed chunks summed in a fixed order, so the numbers never depend on the threads.</summary>
public class ParallelStepTests
{
    // Not a multiple of 4 nor of the chunk count: the last chunk ends in a partial vector.
    private const int BigN = FusedKernel.ChunkedFrom + 4_099;

    internal static (double[] X, double[] Y) Points(int n)
    {
        var x = new double[n];
        var y = new double[n];
        for (var i = 0; i < n; i++)
        {
            x[i] = -2.0 + 4.0 * i / (n - 1);
            y[i] = 3 * x[i] * x[i] + 2 * x[i] + 1 + 1.5 * Math.Sin(12.9898 * i);
        }
        return (x, y);
    }

    private static long[] Bits(FitResult r) =>
        [.. r.History.Concat(r.Params).Append(r.Loss).Select(BitConverter.DoubleToInt64Bits)];

    private static FitRunOptions Threads(int n) => new() { MaxDegreeOfParallelism = n };

    public static TheoryData<LossKind, int, bool> Fits() => new()
    {
        { LossKind.Mae, 2, false }, { LossKind.Mse, 5, false }, { LossKind.Huber, 3, true },
    };

    [Theory]
    [MemberData(nameof(Fits))]
    public void ABigFitGivesBitIdenticalHistoryAndParamsWith1_2And8Threads(LossKind loss, int degree, bool adam)
    {
        var (x, y) = Points(BigN);
        var problem = new FitProblem(x, y, degree, new LossSpec(loss), 1e-2, 25, Optimizer: adam ? new AdamSpec() : null);

        var one = Fitter.Run(problem, options: Threads(1));
        var two = Fitter.Run(problem, options: Threads(2));
        var eight = Fitter.Run(problem, options: Threads(8));

        Assert.Equal(StopReason.Steps, one.StopReason);
        Assert.Equal(25, one.History.Length);
        Assert.Equal(Bits(one), Bits(two));
        Assert.Equal(Bits(one), Bits(eight));
    }

    [Theory]
    [MemberData(nameof(GradientTests.Operations), MemberType = typeof(GradientTests))]
    public void EveryOperationOnABigFitMatchesTheTapeAndIsTheSameOnAnyNumberOfThreads(string op)
    {
        var (x, _) = Points(BigN);
        double[] p = [0.7, -0.4, 1.3];
        var parameters = p.Select(v => Tensor.Parameter(v)).ToArray();
        var loss = GradientTests.Build(op, parameters[0], parameters[1], parameters[2], Tensor.Points(x));
        var tape = new Tape(loss);
        var value = tape.Forward();
        tape.Backward();

        long[]? first = null;
        foreach (var threads in new[] { 1, 2, 8 })
        {
            var kernel = new FusedKernel(loss, parameters, threads);
            var grad = new double[3];
            var fused = kernel.ForwardBackward(p, grad);
            var forward = kernel.Forward(p);

            Assert.Equal(value, fused, 1e-12 * (1 + Math.Abs(value)));
            Assert.Equal(fused, forward);
            for (var k = 0; k < 3; k++)
                Assert.True(Math.Abs(parameters[k].Grad[0] - grad[k]) <= 1e-10 * (1 + Math.Abs(grad[k])), $"{op} d/dp{k}: tape {parameters[k].Grad[0]}, fused {grad[k]}");
            long[] bits = [.. grad.Append(fused).Select(BitConverter.DoubleToInt64Bits)];
            first ??= bits;
            Assert.Equal(first, bits);
        }
    }

    [Fact]
    public void SmallFitsKeepTheirNumbersBitForBit()
    {
        // The bits of two runs before big fits were chunked: below FusedKernel.ChunkedFrom a step is the one loop it was.
        var lesson = Fitter.Run(LessonData.Problem(steps: 100), options: Threads(8));
        Assert.Equal([0x3FFD82343A11F60E, 0x3FF07019DE95D3CE, unchecked((long)0xBFD70A3D70A3D70F), 0x400276646FA92168],
            lesson.Params.Append(lesson.Loss).Select(BitConverter.DoubleToInt64Bits));

        var (x, y) = Points(1000);
        var huber = Fitter.Run(new FitProblem(x, y, 5, new LossSpec(LossKind.Huber), 1e-3, 50, Optimizer: new AdamSpec()), options: Threads(8));
        Assert.Equal([0x3FA9A665A998E823, 0x3FA99985F589A933, 0x3FA9A9886B5AADAA, 0x3FA9990CAAC7666C, 0x3FA9A9179BB7CA6A, 0x3FA993A1ED2EB870, 0x401153737231D777],
            huber.Params.Append(huber.Loss).Select(BitConverter.DoubleToInt64Bits));
    }

    [Fact]
    public void ABigFitOnSeveralThreadsReportsProgressOnTheCallingThreadAndStopsWhenCancelled()
    {
        var (x, y) = Points(BigN);
        using var cts = new CancellationTokenSource();
        var caller = Environment.CurrentManagedThreadId;
        var reports = new List<(FitProgress Progress, int Thread)>();
        var result = Fitter.Run(new FitProblem(x, y, 2, new LossSpec(LossKind.Mse), 1e-3, 10_000_000),
            p => { reports.Add((p, Environment.CurrentManagedThreadId)); if (reports.Count == 3) cts.Cancel(); },
            TimeSpan.Zero, Threads(2), cts.Token);

        Assert.Equal(StopReason.Cancelled, result.StopReason);
        Assert.Equal(3, reports.Count);
        Assert.All(reports, r => Assert.Equal(caller, r.Thread));
        Assert.Equal(result.Step, result.History.Length);
        Assert.Equal(reports[^1].Progress.History, result.History[..reports[^1].Progress.History.Length]);
    }

    [Fact]
    public void ParallelismBelowOneIsRejected()
    {
        var (x, y) = Points(20);
        var problem = new FitProblem(x, y, 2, new LossSpec(LossKind.Mse), 1e-3, 10);
        Assert.Throws<ArgumentOutOfRangeException>(() => Fitter.Run(problem, options: Threads(0)));
    }
}
