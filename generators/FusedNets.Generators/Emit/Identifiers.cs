using System.Linq;
using Microsoft.CodeAnalysis.CSharp;

namespace FusedNets.Generators.Emit;

/// <summary>
/// Names from the model as C# source must spell them. The model holds a symbol's name (<c>class</c> for a layer
/// declared <c>@class</c>): every emitter writes identifiers through here, and string literals from the name itself.
/// </summary>
internal static class Identifiers
{
    /// <summary>
    /// <paramref name="name"/> as an identifier: keywords get their '@' back. Contextual keywords get one too:
    /// '@' before any identifier is harmless, and it keeps a name such as <c>var</c> or <c>nameof</c> from ever
    /// reading as the keyword where the emitted code puts it.
    /// </summary>
    public static string Escape(string name) =>
        SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None || SyntaxFacts.GetContextualKeywordKind(name) != SyntaxKind.None
            ? "@" + name
            : name;

    /// <summary>A dotted namespace name, each part escaped.</summary>
    public static string EscapeNamespace(string name) => string.Join(".", name.Split('.').Select(Escape));
}
