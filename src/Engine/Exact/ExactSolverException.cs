namespace FitService.Engine.Exact;

/// <summary>The exact optimum cannot be computed for this problem (the message says why).</summary>
public sealed class ExactSolverException(string message) : Exception(message);
