using System.Linq;
using FusedNets.Generators.Model;

namespace FusedNets.Generators.Emit;

/// <summary>
/// Writes a physics-informed network's <c>PdeProgram</c>: its terms (the residual, then the conditions) and the call of
/// each term's method with the engine's number type, through which every engine evaluates them and gets their exact
/// derivatives (docs/pde.md).
/// </summary>
internal static class PdeEmitter
{
    private const string Runtime = "global::FusedNets";

    public static void Emit(CodeWriter code, NetworkModel network)
    {
        // The methods are called through the class's full name: a method of the user's named Evaluate would otherwise
        // be hidden by the override that calls it.
        string owner = "global::" + (network.Namespace.Length == 0 ? "" : Identifiers.EscapeNamespace(network.Namespace) + ".") + Identifiers.Escape(network.ClassName);
        code.Line();
        code.Line("/// <summary>The terms of this network's physics-informed loss, and the call of each term's method.</summary>");
        using (code.Block("private sealed class PdeProgram : global::FusedNets.Generated.PdeProgram"))
        {
            code.Line("public PdeProgram()");
            code.Line("    : base(");
            for (int t = 0; t < network.PdeTerms.Count; t++)
            {
                PdeTermModel term = network.PdeTerms[t];
                string inputs = term.SecondDerivativeInputs.Count == 0
                    ? "global::System.Collections.Immutable.ImmutableArray<int>.Empty"
                    : $"global::System.Collections.Immutable.ImmutableArray.Create<int>({string.Join(", ", term.SecondDerivativeInputs)})";
                string kind = term.IsResidual ? "Residual" : "Condition";
                string separator = t == network.PdeTerms.Count - 1 ? ")" : ",";
                code.Line($"        new {Runtime}.PdeTerm(\"{term.Method}\", {Runtime}.PdeTermKind.{kind}, {Runtime}.PdeDerivatives.{term.Form}, {inputs}){separator}");
            }

            using (code.Braces())
            {
            }

            code.Line();
            code.Line($"public override TNumber Evaluate<TNumber>(int term, global::System.ReadOnlySpan<float> x, TNumber u, global::System.ReadOnlySpan<TNumber> du, global::System.ReadOnlySpan<TNumber> second)");
            using (code.Braces())
            {
                using (code.Block("switch (term)"))
                {
                    for (int t = 0; t < network.PdeTerms.Count; t++)
                    {
                        PdeTermModel term = network.PdeTerms[t];
                        code.Line($"case {t}: return {owner}.{Identifiers.Escape(term.Method)}<TNumber>({term.CallArguments});");
                    }

                    // "term", not nameof(term): in the user's namespace or class, nameof may name something else.
                    code.Line("default: throw new global::System.ArgumentOutOfRangeException(\"term\", term, null);");
                }
            }
        }
    }

    /// <summary>For the class's summary: <c>, physics-informed: Residual with 2 conditions</c>.</summary>
    public static string Summary(NetworkModel network)
    {
        int conditions = network.PdeTerms.Count(term => !term.IsResidual);
        return $", physics-informed: {network.PdeTerms[0].Method} with {conditions} condition{(conditions == 1 ? "" : "s")}";
    }
}
