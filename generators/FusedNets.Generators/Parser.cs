using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using FusedNets.Generators.Diagnostics;
using FusedNets.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace FusedNets.Generators;

/// <summary>
/// Turns one <c>[Network]</c> class into a <see cref="NetworkModel"/>, checking every shape (here) and every name
/// (Parser.Names.cs) on the way. Any error yields diagnostics and, instead of the model, the placeholder that
/// stands in for it (Parser.Placeholder.cs); half-typed code yields no exception either.
/// </summary>
internal static partial class Parser
{
    public const string NetworkAttribute = "FusedNets.NetworkAttribute";
    private const string InputAttribute = "FusedNets.InputAttribute";
    private const string DenseAttribute = "FusedNets.DenseAttribute";
    private const string LayerType = "FusedNets.Layer";

    public static ParseResult Parse(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
    {
        if (context.TargetSymbol is not INamedTypeSymbol type
            || context.TargetNode is not ClassDeclarationSyntax declaration
            || !IsFirstNetworkDeclaration(type, declaration))
        {
            return ParseResult.Nothing;
        }

        var diagnostics = new List<DiagnosticInfo>();
        NetworkModel? network = ParseNetwork(type, declaration, context.Attributes, diagnostics, cancellationToken);
        CheckNames(type, declaration, context.SemanticModel, diagnostics);
        var found = new EquatableArray<DiagnosticInfo>(diagnostics.ToArray());
        return network is { } valid && diagnostics.Count == 0
            ? new ParseResult(TypeName(type), valid, null, found)
            : new ParseResult(TypeName(type), null, DescribePlaceholder(type, cancellationToken), found);
    }

    /// <summary>
    /// Whether <paramref name="declaration"/> holds the class's first [Network]: one attributed twice, on two of
    /// its parts (the compiler's CS0579), is still one network.
    /// </summary>
    private static bool IsFirstNetworkDeclaration(INamedTypeSymbol type, ClassDeclarationSyntax declaration) =>
        type.GetAttributes().FirstOrDefault(attribute => attribute.AttributeClass?.ToDisplayString() == NetworkAttribute)?.ApplicationSyntaxReference is not { } first
        || (first.SyntaxTree == declaration.SyntaxTree && declaration.Span.Contains(first.Span));

    /// <summary>The class's full metadata name: namespace, the types it is nested in, and its arity (<c>Ns.Outer.Net`1</c>).</summary>
    private static string TypeName(INamedTypeSymbol type)
    {
        string name = type.MetadataName;
        for (INamedTypeSymbol? outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
        {
            name = outer.MetadataName + "." + name;
        }

        string ns = NamespaceName(type);
        return ns.Length == 0 ? name : ns + "." + name;
    }

    /// <summary>
    /// The containing namespace, its parts as their symbols name them (<c>event.Models</c> for <c>@event.Models</c>),
    /// or empty for the global namespace. ToDisplayString would write the '@' back.
    /// </summary>
    private static string NamespaceName(INamedTypeSymbol type)
    {
        var parts = new List<string>();
        for (INamespaceSymbol? ns = type.ContainingNamespace; ns is { IsGlobalNamespace: false }; ns = ns.ContainingNamespace)
        {
            parts.Insert(0, ns.Name);
        }

        return string.Join(".", parts);
    }

    private static NetworkModel? ParseNetwork(
        INamedTypeSymbol type,
        ClassDeclarationSyntax declaration,
        IReadOnlyList<AttributeData> networkAttributes,
        List<DiagnosticInfo> diagnostics,
        CancellationToken cancellationToken)
    {
        string name = type.Name;
        Location classLocation = declaration.Identifier.GetLocation();

        if (!declaration.Modifiers.Any(SyntaxKind.PartialKeyword))
        {
            Report(diagnostics, DiagnosticDescriptors.ClassNotPartial, classLocation, name);
        }

        string? unsupported = type.IsGenericType ? "generic"
            : type.IsStatic ? "static"
            : type.IsFileLocal ? "file-local"
            : type.IsAbstract ? "abstract"
            : type.ContainingType is not null ? "nested in '" + type.ContainingType.Name + "'"
            : null;
        if (unsupported is not null)
        {
            Report(diagnostics, DiagnosticDescriptors.UnsupportedClass, classLocation, name, unsupported);
        }

        if (type.BaseType is { SpecialType: not SpecialType.System_Object } baseType && baseType.TypeKind != TypeKind.Error)
        {
            Report(diagnostics, DiagnosticDescriptors.BaseClassNotAllowed, classLocation, name, baseType.ToDisplayString());
        }

        LossKind loss = LossKind.SoftmaxCrossEntropy;
        foreach (AttributeData attribute in networkAttributes)
        {
            foreach (KeyValuePair<string, TypedConstant> argument in attribute.NamedArguments)
            {
                if (argument.Key == "Loss" && EnumMemberName(argument.Value) is { } lossName)
                {
                    if (!System.Enum.TryParse(lossName, out loss))
                    {
                        Report(diagnostics, DiagnosticDescriptors.UnknownEnumValue, AttributeLocation(attribute, classLocation), lossName, "loss", "SoftmaxCrossEntropy, MeanSquaredError");
                    }
                }
            }
        }

        // Layers, in declaration order.
        string? inputName = null, inputModifiers = null;
        int inputSize = 0;
        string? previousName = null;
        int previousUnits = 0;
        var layers = new List<LayerModel>();
        int denseDeclarations = 0;
        long parameterCount = 0;

        foreach (ISymbol member in type.GetMembers())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (member.IsImplicitlyDeclared)
            {
                continue;
            }

            AttributeData[] layerAttributes = LayerAttributes(member);
            if (layerAttributes.Length == 0)
            {
                if (IsPartialLayerProperty(member))
                {
                    Report(diagnostics, DiagnosticDescriptors.LayerWithoutAttribute, FirstLocation(member, classLocation), member.Name, name);
                }

                continue;
            }

            AttributeData attribute = layerAttributes[0];
            Location attributeLocation = AttributeLocation(attribute, FirstLocation(member, classLocation));
            if (layerAttributes.Length > 1)
            {
                Report(diagnostics, DiagnosticDescriptors.SeveralLayerAttributes, AttributeLocation(layerAttributes[1], attributeLocation), member.Name, layerAttributes.Length.ToString(CultureInfo.InvariantCulture));
                continue;
            }

            if (DescribeIfNotLayerProperty(member) is { } actualForm)
            {
                Report(diagnostics, DiagnosticDescriptors.NotALayerProperty, attributeLocation, member.Name, actualForm);
                continue;
            }

            // Arguments that do not bind (code being typed) already have a compiler error: say nothing more.
            if (attribute.AttributeConstructor is null || attribute.ConstructorArguments.Any(argument => argument.Kind == TypedConstantKind.Error))
            {
                return null;
            }

            string modifiers = ModifiersAsWritten(member, cancellationToken);
            if (attribute.AttributeClass!.ToDisplayString() == InputAttribute)
            {
                if (inputName is not null)
                {
                    Report(diagnostics, DiagnosticDescriptors.DuplicateInput, attributeLocation, member.Name, name, inputName);
                    continue;
                }

                if (previousName is not null)
                {
                    Report(diagnostics, DiagnosticDescriptors.InputNotFirst, attributeLocation, member.Name, name, previousName);
                }

                int size = IntArgument(attribute, 0);
                if (size <= 0)
                {
                    Report(diagnostics, DiagnosticDescriptors.NonPositiveSize, attributeLocation, member.Name, "size", Text(size));
                }

                inputName = member.Name;
                inputModifiers = modifiers;
                inputSize = size;
                previousName = member.Name;
                previousUnits = size;
                continue;
            }

            denseDeclarations++;
            LayerModel? layer = ParseDense(type, member.Name, modifiers, attribute, attributeLocation, previousName, previousUnits, diagnostics);
            previousName = member.Name;
            previousUnits = layer?.Units ?? 0;
            if (layer is { } dense)
            {
                layers.Add(dense);
                long weights = (long)dense.Units * dense.Inputs;
                parameterCount += weights + dense.Units;
                if (parameterCount > int.MaxValue)
                {
                    Report(diagnostics, DiagnosticDescriptors.SizeOverflow, attributeLocation, member.Name, Text(dense.Units), Text(dense.Inputs), name, parameterCount.ToString(CultureInfo.InvariantCulture));
                    return null;
                }
            }
        }

        if (inputName is null)
        {
            Report(diagnostics, DiagnosticDescriptors.MissingInput, classLocation, name);
            return null;
        }

        if (denseDeclarations == 0)
        {
            Report(diagnostics, DiagnosticDescriptors.NoDenseLayer, classLocation, name);
            return null;
        }

        if (layers.Count == 0)
        {
            return null;
        }

        LayerModel output = layers[layers.Count - 1];
        if (loss == LossKind.SoftmaxCrossEntropy && output.Units < 2)
        {
            Location outputLocation = type.GetMembers(output.Name).FirstOrDefault() is { } outputMember
                ? AttributeLocation(outputMember.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == DenseAttribute), classLocation)
                : classLocation;
            Report(diagnostics, DiagnosticDescriptors.OutputUnsuitableForLoss, outputLocation, output.Name, Text(output.Units), "SoftmaxCrossEntropy", "2 (one per class)");
        }

        return new NetworkModel(NamespaceName(type), name, loss, inputName, inputModifiers!, inputSize, new EquatableArray<LayerModel>(layers.ToArray()));
    }

    private static LayerModel? ParseDense(
        INamedTypeSymbol type,
        string name,
        string modifiers,
        AttributeData attribute,
        Location location,
        string? previousName,
        int previousUnits,
        List<DiagnosticInfo> diagnostics)
    {
        int units = IntArgument(attribute, 0);
        string activation = attribute.ConstructorArguments.Length > 1 ? EnumMemberName(attribute.ConstructorArguments[1]) ?? "" : "Identity";

        if (units <= 0)
        {
            Report(diagnostics, DiagnosticDescriptors.NonPositiveSize, location, name, "units", Text(units));
        }

        if (activation.Length == 0 || !IsKnownActivation(attribute))
        {
            Report(diagnostics, DiagnosticDescriptors.UnknownEnumValue, location, activation.Length == 0 ? ArgumentText(attribute, 1) : activation, "activation", KnownActivations(attribute));
        }

        int? declaredInputs = null;
        string? maskMethod = null;
        double? density = null;
        int maskSeed = 0;
        foreach (KeyValuePair<string, TypedConstant> argument in attribute.NamedArguments)
        {
            object? value = argument.Value.Value;
            switch (argument.Key)
            {
                case "Inputs" when value is int inputs:
                    declaredInputs = inputs;
                    break;
                case "Mask":
                    maskMethod = value as string ?? "";
                    break;
                case "Density" when value is double fraction:
                    density = fraction;
                    break;
                case "MaskSeed" when value is int seed:
                    maskSeed = seed;
                    break;
            }
        }

        if (previousName is null)
        {
            // No [Input] before this layer: FN002 or FN004 says so; the width is unknown.
            return null;
        }

        if (declaredInputs is { } expected && previousUnits > 0 && expected != previousUnits)
        {
            Report(diagnostics, DiagnosticDescriptors.InputsMismatch, location, name, Text(expected), previousName, Text(previousUnits));
        }

        if (density is { } d && !(d > 0 && d <= 1))
        {
            Report(diagnostics, DiagnosticDescriptors.DensityOutOfRange, location, name, d.ToString("R", CultureInfo.InvariantCulture));
        }

        MaskModel mask = MaskModel.None;
        if (maskMethod is not null)
        {
            if (density is { } both && both != 1.0)
            {
                Report(diagnostics, DiagnosticDescriptors.MaskAndDensity, location, name, maskMethod, both.ToString("R", CultureInfo.InvariantCulture));
            }

            IMethodSymbol[] candidates = type.GetMembers(maskMethod).OfType<IMethodSymbol>().ToArray();
            if (candidates.Length == 0)
            {
                Report(diagnostics, DiagnosticDescriptors.MaskMethodMissing, location, name, maskMethod, type.Name);
            }
            else if (!candidates.Any(IsMaskSignature))
            {
                Report(diagnostics, DiagnosticDescriptors.MaskMethodSignature, location, name, maskMethod, candidates[0].ToDisplayString());
            }

            mask = new MaskModel(MaskKind.Function, maskMethod, 1.0, 0);
        }
        else if (density is { } kept && kept < 1.0)
        {
            mask = new MaskModel(MaskKind.Random, "", kept, maskSeed);
        }

        // An invalid layer still passes on its width, so that the next layer's checks stay meaningful;
        // the diagnostics already keep the model from being emitted.
        return units > 0 && previousUnits > 0 ? new LayerModel(name, modifiers, units, previousUnits, activation, mask) : null;
    }

    private static bool IsMaskSignature(IMethodSymbol method) =>
        method.IsStatic
        && !method.IsGenericMethod
        && method.ReturnType.SpecialType == SpecialType.System_Boolean
        && method.Parameters.Length == 2
        && method.Parameters.All(parameter => parameter.Type.SpecialType == SpecialType.System_Int32 && parameter.RefKind == RefKind.None);

    /// <summary>Null when <paramref name="member"/> is a partial, get-only, instance property of type Layer; else what it is instead.</summary>
    private static string? DescribeIfNotLayerProperty(ISymbol member)
    {
        if (member is not IPropertySymbol property)
        {
            return "a " + member.Kind.ToString().ToLowerInvariant();
        }

        if (property.IsIndexer)
        {
            return "an indexer";
        }

        if (property.Type.ToDisplayString() != LayerType)
        {
            return "a property of type '" + property.Type.ToDisplayString() + "'";
        }

        if (property.IsStatic)
        {
            return "a static property";
        }

        if (property.ReturnsByRef || property.ReturnsByRefReadonly)
        {
            return "a ref property";
        }

        if (!property.IsPartialDefinition)
        {
            return property.PartialDefinitionPart is null ? "not a partial property declaration" : "an implementation part";
        }

        if (property.SetMethod is not null)
        {
            return "a property with a setter";
        }

        return null;
    }

    private static bool IsKnownActivation(AttributeData attribute) =>
        attribute.ConstructorArguments.Length < 2
        || (attribute.ConstructorArguments[1].Type is INamedTypeSymbol { TypeKind: TypeKind.Enum } enumType
            && enumType.GetMembers().OfType<IFieldSymbol>().Any(field => field.HasConstantValue && Equals(field.ConstantValue, attribute.ConstructorArguments[1].Value)));

    private static string KnownActivations(AttributeData attribute) =>
        attribute.ConstructorArguments.Length > 1 && attribute.ConstructorArguments[1].Type is INamedTypeSymbol enumType
            ? string.Join(", ", enumType.GetMembers().OfType<IFieldSymbol>().Where(field => field.HasConstantValue).Select(field => field.Name))
            : "a member of FusedNets.Activation";

    /// <summary>The enum member whose value the constant holds, or null.</summary>
    private static string? EnumMemberName(TypedConstant constant) =>
        constant.Type is INamedTypeSymbol { TypeKind: TypeKind.Enum } enumType
            ? enumType.GetMembers().OfType<IFieldSymbol>().FirstOrDefault(field => field.HasConstantValue && Equals(field.ConstantValue, constant.Value))?.Name
            : null;

    private static int IntArgument(AttributeData attribute, int index) =>
        attribute.ConstructorArguments.Length > index && attribute.ConstructorArguments[index].Value is int value ? value : 0;

    private static string ArgumentText(AttributeData attribute, int index) =>
        attribute.ConstructorArguments.Length > index ? attribute.ConstructorArguments[index].Value?.ToString() ?? "null" : "";

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// The member's modifiers exactly as written, but <c>partial</c> ("" when none): C# requires the implementation
    /// part to repeat the accessibility word for word (so "private" may not stand in for none) and <c>new</c>,
    /// <c>virtual</c>, <c>sealed</c> or <c>static</c> where the declaration has them.
    /// </summary>
    private static string ModifiersAsWritten(ISymbol member, CancellationToken cancellationToken)
    {
        SyntaxNode? syntax = member.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(cancellationToken);
        SyntaxTokenList modifiers = syntax is MemberDeclarationSyntax declaration ? declaration.Modifiers : default;
        return string.Join(" ", modifiers.Where(modifier => !modifier.IsKind(SyntaxKind.PartialKeyword)).Select(modifier => modifier.Text));
    }

    /// <summary>The member's [Input] and [Dense] attributes.</summary>
    private static AttributeData[] LayerAttributes(ISymbol member) => member.GetAttributes()
        .Where(attribute => attribute.AttributeClass?.ToDisplayString() is InputAttribute or DenseAttribute)
        .ToArray();

    /// <summary>A partial property definition of type Layer, with or without a layer attribute.</summary>
    private static bool IsPartialLayerProperty(ISymbol member) =>
        member is IPropertySymbol { IsPartialDefinition: true } property && property.Type.ToDisplayString() == LayerType;

    private static Location FirstLocation(ISymbol symbol, Location fallback) =>
        symbol.Locations.FirstOrDefault(location => location.IsInSource) ?? fallback;

    private static Location AttributeLocation(AttributeData? attribute, Location fallback) =>
        attribute?.ApplicationSyntaxReference?.GetSyntax() is { } syntax ? syntax.GetLocation() : fallback;

    private static void Report(List<DiagnosticInfo> diagnostics, DiagnosticDescriptor descriptor, Location location, params string[] arguments) =>
        diagnostics.Add(new DiagnosticInfo(descriptor.Id, LocationInfo.From(location), new EquatableArray<string>(arguments)));
}
