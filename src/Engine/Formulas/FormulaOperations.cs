using FitService.Engine.Autodiff;

namespace FitService.Engine.Formulas;

/// <summary>The formula operations on <see cref="Tensor"/> that the core does not name; their element rules live in Rules.cs with the others.</summary>
internal static class FormulaOperations
{
    public static Tensor Sqrt(this Tensor a) => Tensor.Apply(Operation.Unary<SqrtRule>("sqrt"), a);

    public static Tensor Power(this Tensor a, Tensor b) => Tensor.Apply(Operation.Binary<GeneralPowRule>("pow"), a, b);
}
