namespace FitService.Engine.Formulas;

/// <summary>A formula or params list that cannot be used. The message names the 1-based character position where there is one.</summary>
public sealed class FormulaException(string field, string message, int position = 0) : Exception(message)
{
    /// <summary><c>formula</c> (the text) or <c>params</c> (the names), as in the API's <c>model</c> object.</summary>
    public string Field { get; } = field;

    /// <summary>1-based position in the formula text; 0 when the problem is not at one place.</summary>
    public int Position { get; } = position;
}
