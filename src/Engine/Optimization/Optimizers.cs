namespace FitService.Engine.Optimization;

/// <summary>One parameter update per step, in place.</summary>
internal interface IOptimizer
{
    void Step(Span<double> parameters, ReadOnlySpan<double> gradient, double learningRate);
}

internal static class Optimizers
{
    public static IOptimizer Create(OptimizerSpec? spec, int size) => spec switch
    {
        null => new Sgd(new SgdSpec(), size),
        SgdSpec sgd => new Sgd(sgd, size),
        AdamSpec adam => new Adam(adam, size),
        _ => throw new ArgumentException($"unknown optimizer {spec.GetType().Name}", nameof(spec)),
    };
}

/// <summary>
/// torch.optim.SGD (weight decay 0), in the same operation order as PyTorch 1.13's single-tensor loop:
/// the first step sets the momentum buffer to the gradient itself; then buf = momentum·buf + (1 − dampening)·g;
/// Nesterov uses g + momentum·buf; p = p + (−lr)·d.
/// </summary>
internal sealed class Sgd(SgdSpec spec, int size) : IOptimizer
{
    private readonly double[] _buffer = new double[size];
    private bool _started;

    public void Step(Span<double> parameters, ReadOnlySpan<double> gradient, double learningRate)
    {
        for (var k = 0; k < parameters.Length; k++)
        {
            var d = gradient[k];
            if (spec.Momentum != 0.0)
            {
                _buffer[k] = _started ? _buffer[k] * spec.Momentum + (1.0 - spec.Dampening) * d : d;
                d = spec.Nesterov ? d + spec.Momentum * _buffer[k] : _buffer[k];
            }
            parameters[k] += -learningRate * d;
        }
        _started = true;
    }
}

/// <summary>
/// torch.optim.Adam (amsgrad off, weight decay 0), in PyTorch 1.13's single-tensor operation order:
/// m = b1·m + (1 − b1)·g; v = b2·v + (1 − b2)·g·g; denom = √v / √(1 − b2^t) + ε; p = p + (−lr / (1 − b1^t))·m / denom.
/// </summary>
internal sealed class Adam(AdamSpec spec, int size) : IOptimizer
{
    private readonly double[] _m = new double[size];
    private readonly double[] _v = new double[size];
    private int _t;

    public void Step(Span<double> parameters, ReadOnlySpan<double> gradient, double learningRate)
    {
        _t++;
        var biasCorrection1 = 1.0 - Math.Pow(spec.Beta1, _t);
        var biasCorrection2Sqrt = Math.Sqrt(1.0 - Math.Pow(spec.Beta2, _t));
        var stepSize = learningRate / biasCorrection1;
        for (var k = 0; k < parameters.Length; k++)
        {
            var g = gradient[k];
            _m[k] = _m[k] * spec.Beta1 + (1.0 - spec.Beta1) * g;
            _v[k] = _v[k] * spec.Beta2 + (1.0 - spec.Beta2) * g * g;
            var denom = Math.Sqrt(_v[k]) / biasCorrection2Sqrt + spec.Epsilon;
            parameters[k] += -stepSize * _m[k] / denom;
        }
    }
}
