using System.Globalization;

namespace FitService.Engine.Formulas;

/// <summary>
/// Recursive descent over the formula text, no code execution: numbers, x, named params, pi, + - * / ^ (right
/// associative, binding tighter than unary minus, so -x^2 = −(x²)), unary minus, parentheses and the functions of
/// <see cref="Functions"/>. Length and nesting are bounded; every error names the 1-based position it was found at.
/// </summary>
internal sealed class FormulaParser
{
    public static readonly string[] Functions = ["exp", "log", "sin", "cos", "tanh", "sqrt", "abs"];
    public static readonly string[] Reserved = ["x", "pi", .. Functions];

    private readonly string _text;
    private readonly IReadOnlyList<string> _parameters;
    private int _pos;
    private int _depth;

    private FormulaParser(string text, IReadOnlyList<string> parameters) => (_text, _parameters) = (text, parameters);

    public static FormulaNode Parse(string text, IReadOnlyList<string> parameters)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new FormulaException("formula", "is empty");
        if (text.Length > Formula.MaxLength)
            throw new FormulaException("formula", $"has {text.Length} characters; at most {Formula.MaxLength} are allowed", Formula.MaxLength + 1);
        var parser = new FormulaParser(text, parameters);
        var root = parser.Expression();
        parser.SkipSpace();
        if (parser._pos < text.Length) throw parser.Unexpected();
        return root;
    }

    // expression := term (('+' | '-') term)*
    private FormulaNode Expression()
    {
        Enter();
        var left = Term();
        while (Peek() is '+' or '-')
        {
            var (op, at) = (_text[_pos], Position);
            _pos++;
            left = new BinaryNode(op, left, Term(), at);
        }
        _depth--;
        return left;
    }

    // term := unary (('*' | '/') unary)*
    private FormulaNode Term()
    {
        var left = Unary();
        while (Peek() is '*' or '/')
        {
            var (op, at) = (_text[_pos], Position);
            _pos++;
            left = new BinaryNode(op, left, Unary(), at);
        }
        return left;
    }

    // unary := '-' unary | power
    private FormulaNode Unary()
    {
        if (Peek() != '-') return Power();
        var at = Position;
        _pos++;
        Enter();
        var operand = Unary();
        _depth--;
        return new NegateNode(operand, at);
    }

    // power := primary ('^' unary)?
    private FormulaNode Power()
    {
        var baseNode = Primary();
        if (Peek() != '^') return baseNode;
        var at = Position;
        _pos++;
        Enter();
        var exponent = Unary();
        _depth--;
        return new BinaryNode('^', baseNode, exponent, at);
    }

    // primary := number | name | function '(' expression ')' | '(' expression ')'
    private FormulaNode Primary()
    {
        var c = Peek();
        var at = Position;
        if (c is null) throw Unexpected();
        if (char.IsAsciiDigit(c.Value) || c == '.') return Number();
        if (char.IsAsciiLetter(c.Value) || c == '_')
        {
            var start = _pos;
            while (_pos < _text.Length && (char.IsAsciiLetterOrDigit(_text[_pos]) || _text[_pos] == '_')) _pos++;
            var name = _text[start.._pos];
            if (Functions.Contains(name))
            {
                if (Peek() != '(') throw new FormulaException("formula", $"expected '(' after '{name}' at position {Position}", Position);
                _pos++;
                var argument = Expression();
                Expect(')');
                return new CallNode(name, argument, at);
            }
            if (name == "x") return new XNode(at);
            if (name == "pi") return new NumberNode(Math.PI, at);
            var index = IndexOf(name);
            if (index < 0)
            {
                throw new FormulaException("formula",
                    $"unknown name '{name}' at position {at}: use x, pi, a param ({(_parameters.Count == 0 ? "none declared" : string.Join(", ", _parameters))}) or a function ({string.Join(", ", Functions)})", at);
            }
            return new ParamNode(index, at);
        }
        if (c == '(')
        {
            _pos++;
            var inner = Expression();
            Expect(')');
            return inner;
        }
        throw Unexpected();
    }

    private NumberNode Number()
    {
        var at = Position;
        var start = _pos;
        while (_pos < _text.Length && char.IsAsciiDigit(_text[_pos])) _pos++;
        if (_pos < _text.Length && _text[_pos] == '.') _pos++;
        while (_pos < _text.Length && char.IsAsciiDigit(_text[_pos])) _pos++;
        // An exponent only when digits follow: in "2e" or "2*e" the e is a name.
        if (_pos < _text.Length && _text[_pos] is 'e' or 'E')
        {
            var next = _pos + 1;
            if (next < _text.Length && _text[next] is '+' or '-') next++;
            if (next < _text.Length && char.IsAsciiDigit(_text[next]))
            {
                _pos = next;
                while (_pos < _text.Length && char.IsAsciiDigit(_text[_pos])) _pos++;
            }
        }
        var literal = _text[start.._pos];
        if (!double.TryParse(literal, NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out var value))
            throw new FormulaException("formula", $"'{literal}' at position {at} is not a number", at);
        if (!double.IsFinite(value)) throw new FormulaException("formula", $"the number '{literal}' at position {at} is too large", at);
        return new NumberNode(value, at);
    }

    private int IndexOf(string name)
    {
        for (var i = 0; i < _parameters.Count; i++) if (_parameters[i] == name) return i;
        return -1;
    }

    private void Enter()
    {
        if (++_depth > Formula.MaxDepth)
            throw new FormulaException("formula", $"nests deeper than {Formula.MaxDepth} levels at position {Position}", Position);
    }

    private void Expect(char c)
    {
        if (Peek() != c) throw Peek() is null ? Unexpected() : new FormulaException("formula", $"expected '{c}' but found '{_text[_pos]}' at position {Position}", Position);
        _pos++;
    }

    private FormulaException Unexpected() => Peek() is { } c
        ? new FormulaException("formula", $"unexpected '{c}' at position {Position}", Position)
        : new FormulaException("formula", $"unexpected end of formula at position {Position}", Position);

    /// <summary>The next character that is not white space, or null at the end.</summary>
    private char? Peek()
    {
        SkipSpace();
        return _pos < _text.Length ? _text[_pos] : null;
    }

    private void SkipSpace()
    {
        while (_pos < _text.Length && char.IsWhiteSpace(_text[_pos])) _pos++;
    }

    private int Position => _pos + 1;
}
