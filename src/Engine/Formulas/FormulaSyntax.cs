namespace FitService.Engine.Formulas;

/// <summary>The parsed formula, a tree of these nodes. <see cref="Position"/> is 1-based, for messages.</summary>
internal abstract record FormulaNode(int Position);

internal sealed record NumberNode(double Value, int Position) : FormulaNode(Position);

internal sealed record XNode(int Position) : FormulaNode(Position);

/// <summary>A named parameter, by its index in the formula's params.</summary>
internal sealed record ParamNode(int Index, int Position) : FormulaNode(Position);

internal sealed record NegateNode(FormulaNode Operand, int Position) : FormulaNode(Position);

/// <summary>One of + - * / ^.</summary>
internal sealed record BinaryNode(char Operator, FormulaNode Left, FormulaNode Right, int Position) : FormulaNode(Position);

/// <summary>One of <see cref="FormulaParser.Functions"/> applied to its argument.</summary>
internal sealed record CallNode(string Function, FormulaNode Argument, int Position) : FormulaNode(Position);
