using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using FusedNets.Generators.Diagnostics;
using FusedNets.Generators.Kinds;
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

        // Layers, in declaration order: the input, then each layer parsed by its kind against the one before it.
        InputModel? input = null;
        string? previousName = null, layerBeforeInput = null;
        ShapeModel previousShape = default;
        bool previousWritesMap = false;
        var layers = new List<LayerModel>();
        var layerLocations = new List<Location>();
        int layerDeclarations = 0;
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
                if (input is { } first)
                {
                    Report(diagnostics, DiagnosticDescriptors.DuplicateInput, attributeLocation, member.Name, name, first.Name);
                    continue;
                }

                if ((previousName ?? layerBeforeInput) is { } earlier)
                {
                    Report(diagnostics, DiagnosticDescriptors.InputNotFirst, attributeLocation, member.Name, name, earlier);
                }

                if (ParseInput(member.Name, modifiers, attribute, attributeLocation, diagnostics) is not { } parsed)
                {
                    return null;
                }

                input = parsed;
                previousName = member.Name;
                previousShape = parsed.Shape;
                previousWritesMap = parsed.IsImage;
                continue;
            }

            layerDeclarations++;
            if (previousName is null)
            {
                // No [Input] before this layer: FN002 or FN004 says so; what it reads is unknown.
                layerBeforeInput ??= member.Name;
                continue;
            }

            LayerKind kind = LayerKind.ForAttribute(attribute.AttributeClass.ToDisplayString())!;
            var parse = new LayerParse(type, member.Name, modifiers, attribute, attributeLocation, previousName, previousShape, previousWritesMap, previousName == input?.Name, diagnostics);
            if (kind.Parse(parse) is not { } layer)
            {
                // What this layer gives is unknown, so nothing after it can be checked.
                return null;
            }

            if (layer.OutputShape.LongSize > int.MaxValue)
            {
                Report(diagnostics, DiagnosticDescriptors.SizeOverflow, attributeLocation, member.Name, $"gives {layer.OutputShape}, {layer.OutputShape.LongSize.ToString(CultureInfo.InvariantCulture)} values");
                return null;
            }

            layers.Add(layer);
            layerLocations.Add(attributeLocation);
            previousName = member.Name;
            previousShape = layer.OutputShape;
            previousWritesMap = layer.WritesMap;
            parameterCount += layer.ParameterCount;
            if (parameterCount > int.MaxValue)
            {
                string weights = layer is DenseModel dense ? $"{Text(dense.Units)} × {Text(dense.Inputs)} weights" : $"{layer.ParameterCount.ToString(CultureInfo.InvariantCulture)} parameters";
                Report(diagnostics, DiagnosticDescriptors.SizeOverflow, attributeLocation, member.Name, $"needs {weights}, and network '{name}' would have {parameterCount.ToString(CultureInfo.InvariantCulture)} parameters");
                return null;
            }
        }

        if (input is not { } declaredInput)
        {
            Report(diagnostics, DiagnosticDescriptors.MissingInput, classLocation, name);
            return null;
        }

        if (layerDeclarations == 0)
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
            Report(diagnostics, DiagnosticDescriptors.OutputUnsuitableForLoss, layerLocations[layerLocations.Count - 1], output.Name, Text(output.Units), "SoftmaxCrossEntropy", "2 (one per class)");
        }

        return new NetworkModel(NamespaceName(type), name, loss, declaredInput, new EquatableArray<LayerModel>(layers.ToArray()));
    }

    /// <summary>
    /// <c>[Input(size)]</c> or <c>[Input(channels, height, width)]</c>: null, with FN005 for a size below 1 or FN012
    /// for a shape of more values than an int counts.
    /// </summary>
    private static InputModel? ParseInput(string name, string modifiers, AttributeData attribute, Location location, List<DiagnosticInfo> diagnostics)
    {
        bool image = attribute.ConstructorArguments.Length == 3;
        string[] what = image ? ["channels", "height", "width"] : ["size"];
        int[] sizes = new int[what.Length];
        bool valid = true;
        for (int i = 0; i < sizes.Length; i++)
        {
            sizes[i] = IntArgument(attribute, i);
            if (sizes[i] <= 0)
            {
                Report(diagnostics, DiagnosticDescriptors.NonPositiveSize, location, name, what[i], Text(sizes[i]));
                valid = false;
            }
        }

        ShapeModel shape = image ? new ShapeModel(sizes[0], sizes[1], sizes[2]) : ShapeModel.Vector(sizes[0]);
        if (valid && shape.LongSize > int.MaxValue)
        {
            Report(diagnostics, DiagnosticDescriptors.SizeOverflow, location, name, $"gives {shape}, {shape.LongSize.ToString(CultureInfo.InvariantCulture)} values");
            valid = false;
        }

        return valid ? new InputModel(name, modifiers, shape, image) : null;
    }

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

    /// <summary>The enum member whose value the constant holds, or null.</summary>
    private static string? EnumMemberName(TypedConstant constant) =>
        constant.Type is INamedTypeSymbol { TypeKind: TypeKind.Enum } enumType
            ? enumType.GetMembers().OfType<IFieldSymbol>().FirstOrDefault(field => field.HasConstantValue && Equals(field.ConstantValue, constant.Value))?.Name
            : null;

    private static int IntArgument(AttributeData attribute, int index) =>
        attribute.ConstructorArguments.Length > index && attribute.ConstructorArguments[index].Value is int value ? value : 0;

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
        .Where(attribute => attribute.AttributeClass?.ToDisplayString() is { } name && (name == InputAttribute || LayerKind.ForAttribute(name) is not null))
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
