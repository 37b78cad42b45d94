namespace FitService.Engine.Autodiff;

/// <summary>What the step loop (Descent) needs of a compiled model: the loss and gradient of step i's points, and the loss at the end.</summary>
internal interface IGradientSource
{
    /// <summary>Points in one step (for how often the loop looks at the clock).</summary>
    int Count { get; }

    /// <summary>Steps in one pass over all the points (1 for a full batch).</summary>
    int StepsPerEpoch { get; }

    /// <summary>Points in the batch of <paramref name="step"/>.</summary>
    int BatchPoints(int step);

    /// <summary>The loss over all the points at <paramref name="parameters"/>.</summary>
    double Forward(ReadOnlySpan<double> parameters);

    /// <summary>The loss of step <paramref name="step"/>'s points at <paramref name="parameters"/>, its gradient written to <paramref name="gradient"/>. Steps come in order.</summary>
    double ForwardBackward(int step, ReadOnlySpan<double> parameters, Span<double> gradient);
}

/// <summary>A compiled polynomial or formula as a gradient source: every step sees all the points. A struct, so the step loop's calls are direct.</summary>
internal readonly struct FusedSource(FusedKernel kernel) : IGradientSource
{
    public int Count => kernel.Count;

    public int StepsPerEpoch => 1;

    public int BatchPoints(int step) => kernel.Count;

    public double Forward(ReadOnlySpan<double> parameters) => kernel.Forward(parameters);

    public double ForwardBackward(int step, ReadOnlySpan<double> parameters, Span<double> gradient) => kernel.ForwardBackward(parameters, gradient);
}
