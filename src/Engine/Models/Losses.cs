using FitService.Engine.Autodiff;

namespace FitService.Engine.Models;

/// <summary>The losses, written with the autodiff operations; their gradients come from the backward pass.</summary>
public static class Losses
{
    /// <summary>The mean loss of <paramref name="prediction"/> against <paramref name="target"/>.</summary>
    public static Tensor Build(LossSpec loss, Tensor prediction, Tensor target) => Elementwise(loss, prediction, target).Mean();

    /// <summary>
    /// The weighted mean loss Σwᵢℓᵢ/Σwᵢ, as PyTorch's <c>(w * loss).sum() / w.sum()</c>, taking <paramref name="normalizedWeights"/>
    /// = w/Σw (see <see cref="Normalize"/>): so the loss stays one reduction and the fused kernel keeps its single pass.
    /// </summary>
    public static Tensor Build(LossSpec loss, Tensor prediction, Tensor target, Tensor normalizedWeights) =>
        (normalizedWeights * Elementwise(loss, prediction, target)).Sum();

    /// <summary>w / Σw: the weights of <see cref="Build(LossSpec, Tensor, Tensor, Tensor)"/>.</summary>
    public static double[] Normalize(ReadOnlySpan<double> weights)
    {
        var sum = 0.0;
        foreach (var w in weights) sum += w;
        var normalized = new double[weights.Length];
        for (var i = 0; i < weights.Length; i++) normalized[i] = weights[i] / sum;
        return normalized;
    }

    private static Tensor Elementwise(LossSpec loss, Tensor prediction, Tensor target) => loss.Kind switch
    {
        LossKind.Bce => prediction.BceWithLogits(target),
        LossKind.Mae => (prediction - target).Abs(),
        LossKind.Mse => (prediction - target).Square(),
        LossKind.Huber => Huber(prediction - target, loss.HuberDelta),
        _ => throw new ArgumentOutOfRangeException(nameof(loss), loss.Kind, "unknown loss"),
    };

    /// <summary>As <c>torch.nn.functional.huber_loss</c>: ½r² where |r| &lt; δ, else δ(|r| − ½δ).</summary>
    public static Tensor Huber(Tensor r, double delta)
    {
        var a = r.Abs();
        return Tensor.Where(a.LessThan(delta), 0.5 * a.Square(), delta * (a - 0.5 * delta));
    }
}
