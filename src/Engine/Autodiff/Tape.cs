namespace FitService.Engine.Autodiff;

/// <summary>
/// The plain evaluator, micrograd's <c>backward()</c> over whole arrays: the topological order is
/// computed once, buffers are allocated once, and <see cref="Forward"/> / <see cref="Backward"/>
/// replay the graph node by node. It is the readable reference; <see cref="FusedKernel"/> computes the
/// same thing in one pass over the points.
/// </summary>
public sealed class Tape
{
    private readonly Tensor[] _order;

    /// <summary>Prepares <paramref name="output"/> and everything it depends on.</summary>
    public Tape(Tensor output)
    {
        Output = output;
        _order = [.. output.TopologicalOrder()];
        foreach (var node in _order)
        {
            var length = node.IsVector ? Math.Max(Lanes.Width, Lanes.Padded(node.Count)) : Lanes.Width;
            if (node.Op.Kind != OperationKind.Leaf) node.Data = new double[length];
            if (node.RequiresGrad) node.Grad = new double[length];
        }
    }

    /// <summary>The node evaluated.</summary>
    public Tensor Output { get; }

    /// <summary>Computes every node; returns the output's value (lane 0 of a vector).</summary>
    public double Forward()
    {
        foreach (var node in _order) node.Op.Forward(node);
        return Output.Data[0];
    }

    /// <summary>Fills every node's gradient with d(output)/d(node); the output must be a scalar and <see cref="Forward"/> done.</summary>
    public void Backward()
    {
        if (Output.IsVector) throw new InvalidOperationException("backward needs a scalar output");
        foreach (var node in _order) Array.Clear(node.Grad);
        if (!Output.RequiresGrad) return;
        Array.Fill(Output.Grad, 1.0);
        // A node no gradient reaches (a comparison) has no gradient buffer: its backward must not run.
        for (var k = _order.Length - 1; k >= 0; k--)
            if (_order[k].RequiresGrad) _order[k].Op.Backward(_order[k]);
    }
}
