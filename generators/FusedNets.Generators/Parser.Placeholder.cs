using System.Collections.Generic;
using System.Linq;
using System.Threading;
using FusedNets.Generators.Emit;
using FusedNets.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace FusedNets.Generators;

/// <summary>What stands in for a declaration that yields no network, so that its FN errors are its only errors.</summary>
internal static partial class Parser
{
    private static readonly SymbolDisplayFormat s_typeInFull =
        SymbolDisplayFormat.FullyQualifiedFormat.AddMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.IncludeNullableReferenceTypeModifier);

    /// <summary>
    /// The placeholder for a declaration that yields no network, or null where no part of the class can be added:
    /// a class that is not partial or is file-local (FN001, FN015), or one nested in such a type. Reads the
    /// declaration as written, whatever its errors.
    /// </summary>
    private static PlaceholderModel? DescribePlaceholder(INamedTypeSymbol type, CancellationToken cancellationToken)
    {
        if (!CanAddPart(type))
        {
            return null;
        }

        var containers = new List<ContainingType>();
        for (INamedTypeSymbol? outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
        {
            if (!CanAddPart(outer) || DeclarationKeyword(outer) is not { } keyword)
            {
                return null;
            }

            containers.Insert(0, new ContainingType(keyword, outer.Name, TypeParameterNames(outer)));
        }

        var properties = new List<PropertyStub>();
        int inputSize = 0, outputSize = 0;
        foreach (ISymbol member in type.GetMembers())
        {
            cancellationToken.ThrowIfCancellationRequested();
            AttributeData[] layerAttributes = LayerAttributes(member);
            foreach (AttributeData attribute in layerAttributes)
            {
                int size = System.Math.Max(0, IntArgument(attribute, 0));
                if (attribute.AttributeClass!.ToDisplayString() == InputAttribute)
                {
                    // [Input(size)] or [Input(channels, height, width)]: the product, or 0 for what does not make sense.
                    long product = 1;
                    for (int i = 0; i < attribute.ConstructorArguments.Length; i++)
                    {
                        product *= System.Math.Max(0, IntArgument(attribute, i));
                    }

                    inputSize = inputSize == 0 && product <= int.MaxValue ? (int)product : inputSize;
                }
                else
                {
                    // A dense layer's units; a spatial output's size is unknown without checking its shapes.
                    outputSize = attribute.AttributeClass.ToDisplayString() == "FusedNets.DenseAttribute" ? size : 0;
                }
            }

            if ((layerAttributes.Length > 0 || IsPartialLayerProperty(member)) && StubOf(member, cancellationToken) is { } stub)
            {
                properties.Add(stub);
            }
        }

        string[] taken = NetworkEmitter.GeneratedMembers
            .Select(generated => generated.Name)
            .Where(name => name == type.Name || type.GetMembers(name).Any(member => !member.IsImplicitlyDeclared && GeneratedClash(member) is not null))
            .ToArray();
        return new PlaceholderModel(
            TypeName(type),
            NamespaceName(type),
            new EquatableArray<ContainingType>(containers.ToArray()),
            type.Name,
            TypeParameterNames(type),
            IsNetwork: !type.IsStatic && type.BaseType?.SpecialType == SpecialType.System_Object,
            DeclaredLoss(type),
            inputSize,
            outputSize,
            new EquatableArray<PropertyStub>(properties.ToArray()),
            new EquatableArray<string>(taken));
    }

    /// <summary>Whether another part of <paramref name="type"/> may be declared in a generated file.</summary>
    private static bool CanAddPart(INamedTypeSymbol type) =>
        !type.IsFileLocal
        && type.DeclaringSyntaxReferences.All(reference => reference.GetSyntax() is TypeDeclarationSyntax declaration && declaration.Modifiers.Any(SyntaxKind.PartialKeyword));

    private static string? DeclarationKeyword(INamedTypeSymbol type) => type.DeclaringSyntaxReferences.First().GetSyntax() switch
    {
        RecordDeclarationSyntax record => record.ClassOrStructKeyword.IsKind(SyntaxKind.StructKeyword) ? "record struct" : "record",
        ClassDeclarationSyntax => "class",
        StructDeclarationSyntax => "struct",
        InterfaceDeclarationSyntax => "interface",
        _ => null,
    };

    private static EquatableArray<string> TypeParameterNames(INamedTypeSymbol type) =>
        new(type.TypeParameters.Select(parameter => parameter.Name).ToArray());

    /// <summary>The implementation a partial property or indexer definition still needs, or null where it needs none or none can be written.</summary>
    private static PropertyStub? StubOf(ISymbol member, CancellationToken cancellationToken)
    {
        if (member is not IPropertySymbol { IsPartialDefinition: true, PartialImplementationPart: null } property
            || property.Type.TypeKind == TypeKind.Error
            || property.Parameters.Any(parameter => parameter.Type.TypeKind == TypeKind.Error)
            || property.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(cancellationToken) is not BasePropertyDeclarationSyntax { AccessorList: { } accessors })
        {
            return null;
        }

        string byReference = property.ReturnsByRefReadonly ? "ref readonly " : property.ReturnsByRef ? "ref " : "";
        string parameters = property.IsIndexer
            ? "[" + string.Join(", ", property.Parameters.Select(parameter => (parameter.IsParams ? "params " : "") + RefKindText(parameter.RefKind) + parameter.Type.ToDisplayString(s_typeInFull) + " " + Identifiers.Escape(parameter.Name))) + "]"
            : "";
        string[] accessorsAsWritten = accessors.Accessors
            .Select(accessor => string.Join(" ", accessor.Modifiers.Select(modifier => modifier.Text).Append(accessor.Keyword.Text)))
            .ToArray();
        return new PropertyStub(
            property.IsIndexer ? "this" : property.Name,
            parameters,
            ModifiersAsWritten(property, cancellationToken),
            byReference + property.Type.ToDisplayString(s_typeInFull),
            new EquatableArray<string>(accessorsAsWritten));
    }

    private static string RefKindText(RefKind refKind) => refKind switch
    {
        RefKind.In => "in ",
        RefKind.Ref => "ref ",
        RefKind.Out => "out ",
        RefKind.RefReadOnlyParameter => "ref readonly ",
        _ => "",
    };

    private static LossKind DeclaredLoss(INamedTypeSymbol type) =>
        type.GetAttributes()
            .Where(attribute => attribute.AttributeClass?.ToDisplayString() == NetworkAttribute)
            .SelectMany(attribute => attribute.NamedArguments)
            .Where(argument => argument.Key == "Loss")
            .Select(argument => EnumMemberName(argument.Value))
            .LastOrDefault() is { } name && System.Enum.TryParse(name, out LossKind loss)
            ? loss
            : LossKind.SoftmaxCrossEntropy;
}
