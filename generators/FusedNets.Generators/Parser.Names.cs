using System.Collections.Generic;
using System.Linq;
using FusedNets.Generators.Diagnostics;
using FusedNets.Generators.Emit;
using FusedNets.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace FusedNets.Generators;

/// <summary>The names a declaration may not use, because the generated half or FusedNets.Network uses them.</summary>
internal static partial class Parser
{
    private const string NetworkBaseType = "FusedNets.Network";

    /// <summary>
    /// Reports every name the generated half could not use as written: the class named like a member generated in
    /// it (FN021), a type named unmanaged in its scope (FN023), a layer named like a generated member or one that
    /// every network inherits (FN020), and another member named like a generated one (FN022). A method may overload a generated method, and any member may hide
    /// an inherited one, as C# allows; a layer may not, because its name becomes part of the network's API.
    /// </summary>
    private static void CheckNames(INamedTypeSymbol type, ClassDeclarationSyntax declaration, SemanticModel semanticModel, List<DiagnosticInfo> diagnostics)
    {
        Location classLocation = declaration.Identifier.GetLocation();
        if (GeneratedMemberNamed(type.Name) is { } classClash)
        {
            Report(diagnostics, DiagnosticDescriptors.ClassNameTaken, classLocation, type.Name, Describe(classClash), type.Name + "Network");
        }

        // C# reads the constraint 'where T : unmanaged' as a type wherever a type of that name is in scope (FN023).
        if (semanticModel.LookupNamespacesAndTypes(declaration.OpenBraceToken.Span.End, name: "unmanaged").FirstOrDefault(symbol => symbol is ITypeSymbol) is { } unmanaged)
        {
            Report(diagnostics, DiagnosticDescriptors.UnmanagedIsAType, classLocation, unmanaged.ToDisplayString(), type.Name);
        }

        Dictionary<string, string>? inherited = null;
        foreach (ISymbol member in type.GetMembers())
        {
            if (member.IsImplicitlyDeclared || !member.CanBeReferencedByName)
            {
                continue;
            }

            Location location = FirstLocation(member, classLocation);
            bool isLayer = LayerAttributes(member).Length > 0 || IsPartialLayerProperty(member);
            if (GeneratedClash(member) is { } generated)
            {
                if (isLayer)
                {
                    Report(diagnostics, DiagnosticDescriptors.LayerNameTaken, location, member.Name, type.Name, Describe(generated), member.Name + "Layer");
                }
                else
                {
                    Report(diagnostics, DiagnosticDescriptors.MemberNameTaken, location, member.Name, type.Name, Describe(generated));
                }
            }
            else if (isLayer && (inherited ??= InheritedMembers(semanticModel.Compilation)).TryGetValue(member.Name, out string? description))
            {
                Report(diagnostics, DiagnosticDescriptors.LayerNameTaken, location, member.Name, type.Name, description, member.Name + "Layer");
            }
        }
    }

    /// <summary>The generated member that <paramref name="member"/> would clash with: one of its name, unless both are methods (then they overload).</summary>
    private static GeneratedMember? GeneratedClash(ISymbol member) =>
        GeneratedMemberNamed(member.Name) is { } generated && !(generated.IsMethod && member is IMethodSymbol) ? generated : null;

    private static GeneratedMember? GeneratedMemberNamed(string name)
    {
        foreach (GeneratedMember generated in NetworkEmitter.GeneratedMembers)
        {
            if (generated.Name == name)
            {
                return generated;
            }
        }

        return null;
    }

    private static string Describe(GeneratedMember generated) => $"the {generated.Kind} '{generated.Name}' that FusedNets generates in every network";

    /// <summary>
    /// Every member that a network class inherits and can name, read from the referenced FusedNets.Network and its
    /// bases, so that a member added to the runtime is reserved without a list to keep in step: name → description.
    /// </summary>
    private static Dictionary<string, string> InheritedMembers(Compilation compilation)
    {
        var inherited = new Dictionary<string, string>(System.StringComparer.Ordinal);
        for (INamedTypeSymbol? type = compilation.GetTypeByMetadataName(NetworkBaseType); type is not null; type = type.BaseType)
        {
            foreach (ISymbol member in type.GetMembers())
            {
                if (member.CanBeReferencedByName
                    && member.DeclaredAccessibility is Accessibility.Public or Accessibility.Protected or Accessibility.ProtectedOrInternal
                    && !inherited.ContainsKey(member.Name))
                {
                    inherited.Add(member.Name, $"the {KindOf(member)} '{type.ToDisplayString()}.{member.Name}' that every network inherits");
                }
            }
        }

        return inherited;
    }

    private static string KindOf(ISymbol member) => member switch
    {
        IMethodSymbol => "method",
        IPropertySymbol => "property",
        IFieldSymbol => "field",
        IEventSymbol => "event",
        _ => "type",
    };
}
