using FitService.Engine.Autodiff;

namespace FitService.Engine.Formulas;

/// <summary>
/// A model written as a formula of x and named params, e.g. <c>a*exp(b*x) + c</c> with params <c>[a, b, c]</c>.
/// Parsed once into a tree (no code is ever executed), then built onto the autodiff graph from the same operations
/// the polynomial uses, so gradients, the fused step and every optimizer and schedule work unchanged.
/// </summary>
public sealed class Formula
{
    /// <summary>Longest formula text accepted.</summary>
    public const int MaxLength = 500;
    /// <summary>Deepest nesting of parentheses, calls, unary minus and powers accepted.</summary>
    public const int MaxDepth = 32;
    /// <summary>Most params accepted.</summary>
    public const int MaxParams = 32;

    private readonly FormulaNode _root;

    private Formula(string text, IReadOnlyList<string> parameters, FormulaNode root) => (Text, Parameters, _root) = (text, parameters, root);

    /// <summary>The formula as written.</summary>
    public string Text { get; }

    /// <summary>The param names, in the order of the parameter vector.</summary>
    public IReadOnlyList<string> Parameters { get; }

    /// <summary>Parses <paramref name="text"/> over the params <paramref name="parameters"/>.</summary>
    /// <exception cref="FormulaException">The text or the names are not valid; the message says where and why.</exception>
    public static Formula Parse(string? text, IReadOnlyList<string>? parameters)
    {
        CheckParams(parameters);
        var root = FormulaParser.Parse(text ?? "", parameters!);
        var used = new bool[parameters!.Count];
        MarkUsed(root, used);
        var unused = parameters.Where((_, i) => !used[i]).ToList();
        if (unused.Count > 0)
            throw new FormulaException("params", $"{string.Join(", ", unused.Select(n => $"'{n}'"))} {(unused.Count == 1 ? "does" : "do")} not appear in the formula");
        return new Formula(text!, [.. parameters], root);
    }

    /// <summary>The model's graph: a vector over the points of <paramref name="x"/>.</summary>
    public Tensor Build(IReadOnlyList<Tensor> parameters, Tensor x)
    {
        if (parameters.Count != Parameters.Count) throw new ArgumentException($"expected {Parameters.Count} parameters", nameof(parameters));
        return Build(_root, parameters, x);
    }

    /// <summary>The value at one point, with <see cref="Math"/> (for pictures and checks).</summary>
    public double Evaluate(ReadOnlySpan<double> parameters, double x) => Evaluate(_root, parameters, x);

    /// <inheritdoc />
    public override string ToString() => Text;

    private static void CheckParams(IReadOnlyList<string>? names)
    {
        if (names is null || names.Count == 0) throw new FormulaException("params", "must name at least one param");
        if (names.Count > MaxParams) throw new FormulaException("params", $"has {names.Count} names; at most {MaxParams} are allowed");
        for (var i = 0; i < names.Count; i++)
        {
            var name = names[i];
            if (string.IsNullOrEmpty(name) || name.Length > 32 || !(char.IsAsciiLetter(name[0]) || name[0] == '_') || !name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
                throw new FormulaException("params", $"name {i} ('{name}') must be a letter or _ followed by up to 31 letters, digits or _");
            if (FormulaParser.Reserved.Contains(name)) throw new FormulaException("params", $"name {i} ('{name}') is reserved");
            if (names.Take(i).Contains(name)) throw new FormulaException("params", $"name {i} ('{name}') appears more than once");
        }
    }

    private static void MarkUsed(FormulaNode node, bool[] used)
    {
        switch (node)
        {
            case ParamNode p: used[p.Index] = true; break;
            case NegateNode n: MarkUsed(n.Operand, used); break;
            case CallNode c: MarkUsed(c.Argument, used); break;
            case BinaryNode b: MarkUsed(b.Left, used); MarkUsed(b.Right, used); break;
        }
    }

    private static Tensor Build(FormulaNode node, IReadOnlyList<Tensor> p, Tensor x) => node switch
    {
        NumberNode n => Tensor.Constant(n.Value),
        XNode => x,
        ParamNode n => p[n.Index],
        NegateNode { Operand: NumberNode n } => Tensor.Constant(-n.Value), // a literal such as -2, as Python reads it
        NegateNode n => -Build(n.Operand, p, x),
        BinaryNode b => b.Operator switch
        {
            '+' => Build(b.Left, p, x) + Build(b.Right, p, x),
            '-' => Build(b.Left, p, x) - Build(b.Right, p, x),
            '*' => Build(b.Left, p, x) * Build(b.Right, p, x),
            '/' => Build(b.Left, p, x) / Build(b.Right, p, x),
            _ => Build(b.Left, p, x).Power(Build(b.Right, p, x)),
        },
        CallNode c => c.Function switch
        {
            "exp" => Build(c.Argument, p, x).Exp(),
            "log" => Build(c.Argument, p, x).Log(),
            "sin" => Build(c.Argument, p, x).Sin(),
            "cos" => Build(c.Argument, p, x).Cos(),
            "tanh" => Build(c.Argument, p, x).Tanh(),
            "sqrt" => Build(c.Argument, p, x).Sqrt(),
            _ => Build(c.Argument, p, x).Abs(),
        },
        _ => throw new InvalidOperationException($"unknown node {node}"),
    };

    private static double Evaluate(FormulaNode node, ReadOnlySpan<double> p, double x) => node switch
    {
        NumberNode n => n.Value,
        XNode => x,
        ParamNode n => p[n.Index],
        NegateNode n => -Evaluate(n.Operand, p, x),
        BinaryNode b => b.Operator switch
        {
            '+' => Evaluate(b.Left, p, x) + Evaluate(b.Right, p, x),
            '-' => Evaluate(b.Left, p, x) - Evaluate(b.Right, p, x),
            '*' => Evaluate(b.Left, p, x) * Evaluate(b.Right, p, x),
            '/' => Evaluate(b.Left, p, x) / Evaluate(b.Right, p, x),
            _ => Math.Pow(Evaluate(b.Left, p, x), Evaluate(b.Right, p, x)),
        },
        CallNode c => Apply(c.Function, Evaluate(c.Argument, p, x)),
        _ => throw new InvalidOperationException($"unknown node {node}"),
    };

    private static double Apply(string function, double a) => function switch
    {
        "exp" => Math.Exp(a),
        "log" => Math.Log(a),
        "sin" => Math.Sin(a),
        "cos" => Math.Cos(a),
        "tanh" => Math.Tanh(a),
        "sqrt" => Math.Sqrt(a),
        _ => Math.Abs(a),
    };
}
