using FitService.Engine.Autodiff;

namespace FitService.Engine.Models;

/// <summary>The losses, written with the autodiff operations; their gradients come from the backward pass.</summary>
public static class Losses
{
    /// <summary>The mean loss of <paramref name="prediction"/> against <paramref name="target"/>.</summary>
    public static Tensor Build(LossSpec loss, Tensor prediction, Tensor target)
    {
        if (loss.Kind == LossKind.Bce) return prediction.BceWithLogits(target).Mean();
        var r = prediction - target;
        return loss.Kind switch
        {
            LossKind.Mae => r.Abs().Mean(),
            LossKind.Mse => r.Square().Mean(),
            LossKind.Huber => Huber(r, loss.HuberDelta).Mean(),
            _ => throw new ArgumentOutOfRangeException(nameof(loss), loss.Kind, "unknown loss"),
        };
    }

    /// <summary>As <c>torch.nn.functional.huber_loss</c>: ½r² where |r| &lt; δ, else δ(|r| − ½δ).</summary>
    public static Tensor Huber(Tensor r, double delta)
    {
        var a = r.Abs();
        return Tensor.Where(a.LessThan(delta), 0.5 * a.Square(), delta * (a - 0.5 * delta));
    }
}
