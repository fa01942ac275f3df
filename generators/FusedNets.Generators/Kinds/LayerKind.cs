using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using FusedNets.Generators.Diagnostics;
using FusedNets.Generators.Model;
using Microsoft.CodeAnalysis;

namespace FusedNets.Generators.Kinds;

/// <summary>
/// One kind of layer as the generator knows it: the attribute that declares it, how that attribute is parsed and
/// checked into the kind's <see cref="LayerModel"/> (whose shape in gives its shape out), and, on the model, what the
/// emitter writes for it. Adding a kind means its file here and its entry in <see cref="All"/>; docs/architecture.md
/// has the whole checklist.
/// </summary>
internal abstract class LayerKind
{
    /// <summary>Every kind after the input, by the attribute that declares it.</summary>
    public static readonly ImmutableArray<LayerKind> All = ImmutableArray.Create<LayerKind>(
        DenseKind.Instance,
        Conv2DKind.Instance,
        MaxPool2DKind.Instance,
        AvgPool2DKind.Instance);

    /// <summary>The kind declared by the attribute of this full metadata name, or null.</summary>
    public static LayerKind? ForAttribute(string? attributeName) =>
        All.FirstOrDefault(kind => kind.AttributeMetadataName == attributeName);

    /// <summary>The attribute's name as written in a declaration, without <c>Attribute</c>: <c>Dense</c>.</summary>
    public abstract string Name { get; }

    public string AttributeMetadataName => "FusedNets." + Name + "Attribute";

    /// <summary>
    /// The layer's model, checked against what comes before it; null when it cannot be built (its diagnostics are
    /// reported). An invalid layer that still has a meaningful output shape should return its model, so that the next
    /// layer's checks stay meaningful: the diagnostics already keep the network from being emitted.
    /// </summary>
    public abstract LayerModel? Parse(LayerParse layer);
}

/// <summary>What a kind's parser reads and where it reports: one layer attribute and the layer before it.</summary>
internal sealed class LayerParse(
    INamedTypeSymbol network,
    string name,
    string modifiers,
    AttributeData attribute,
    Location location,
    string previousName,
    ShapeModel previousShape,
    bool previousWritesMap,
    bool previousIsInput,
    List<DiagnosticInfo> diagnostics)
{
    /// <summary>The network class.</summary>
    public INamedTypeSymbol Network { get; } = network;

    /// <summary>The layer property's name.</summary>
    public string Name { get; } = name;

    public string Modifiers { get; } = modifiers;

    public AttributeData Attribute { get; } = attribute;

    /// <summary>The attribute in the source, where every diagnostic of the layer goes.</summary>
    public Location Location { get; } = location;

    /// <summary>The layer before, or the input.</summary>
    public string PreviousName { get; } = previousName;

    public ShapeModel PreviousShape { get; } = previousShape;

    /// <summary>Whether the layer before writes a (C, H, W) map (an image input or a spatial layer), not a vector.</summary>
    public bool PreviousWritesMap { get; } = previousWritesMap;

    public void Report(DiagnosticDescriptor descriptor, params string[] arguments) =>
        diagnostics.Add(new DiagnosticInfo(descriptor.Id, LocationInfo.From(Location), new EquatableArray<string>(arguments)));

    /// <summary>The constructor argument at <paramref name="index"/> as an int (0 when absent).</summary>
    public int IntArgument(int index) =>
        Attribute.ConstructorArguments.Length > index && Attribute.ConstructorArguments[index].Value is int value ? value : 0;

    /// <summary>A named argument (a property set in the attribute) as an int, or <paramref name="absent"/>.</summary>
    public int NamedInt(string property, int absent) =>
        Attribute.NamedArguments.FirstOrDefault(argument => argument.Key == property).Value.Value is int value ? value : absent;

    /// <summary>Reports FN005 unless <paramref name="value"/> is at least 1; returns whether it is.</summary>
    public bool CheckPositive(string what, int value)
    {
        if (value <= 0)
        {
            Report(DiagnosticDescriptors.NonPositiveSize, Name, what, Text(value));
            return false;
        }

        return true;
    }

    /// <summary>The activation argument at <paramref name="index"/> (Identity when absent); FN019 for a value outside the enum.</summary>
    public string Activation(int index)
    {
        if (Attribute.ConstructorArguments.Length <= index)
        {
            return "Identity";
        }

        TypedConstant argument = Attribute.ConstructorArguments[index];
        string? member = argument.Type is INamedTypeSymbol { TypeKind: TypeKind.Enum } enumType
            ? enumType.GetMembers().OfType<IFieldSymbol>().FirstOrDefault(field => field.HasConstantValue && Equals(field.ConstantValue, argument.Value))?.Name
            : null;
        if (member is null)
        {
            string known = argument.Type is INamedTypeSymbol type
                ? string.Join(", ", type.GetMembers().OfType<IFieldSymbol>().Where(field => field.HasConstantValue).Select(field => field.Name))
                : "a member of FusedNets.Activation";
            Report(DiagnosticDescriptors.UnknownEnumValue, argument.Value?.ToString() ?? "null", "activation", known);
            return "Identity";
        }

        return member;
    }

    /// <summary>
    /// The mask the named arguments declare: <c>Density</c> and <c>MaskSeed</c>, and, where <paramref name="allowFunction"/>,
    /// <c>Mask</c> naming a method of the network, with their checks (FN008, FN009, FN010, FN013).
    /// </summary>
    public MaskModel Mask(bool allowFunction)
    {
        string? maskMethod = null;
        double? density = null;
        int maskSeed = 0;
        foreach (KeyValuePair<string, TypedConstant> argument in Attribute.NamedArguments)
        {
            object? value = argument.Value.Value;
            switch (argument.Key)
            {
                case "Mask" when allowFunction:
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

        if (density is { } d && !(d > 0 && d <= 1))
        {
            Report(DiagnosticDescriptors.DensityOutOfRange, Name, d.ToString("R", CultureInfo.InvariantCulture));
        }

        if (maskMethod is not null)
        {
            if (density is { } both && both != 1.0)
            {
                Report(DiagnosticDescriptors.MaskAndDensity, Name, maskMethod, both.ToString("R", CultureInfo.InvariantCulture));
            }

            IMethodSymbol[] candidates = Network.GetMembers(maskMethod).OfType<IMethodSymbol>().ToArray();
            if (candidates.Length == 0)
            {
                Report(DiagnosticDescriptors.MaskMethodMissing, Name, maskMethod, Network.Name);
            }
            else if (!candidates.Any(IsMaskSignature))
            {
                Report(DiagnosticDescriptors.MaskMethodSignature, Name, maskMethod, candidates[0].ToDisplayString());
            }

            return new MaskModel(MaskKind.Function, maskMethod, 1.0, 0);
        }

        return density is { } kept && kept < 1.0 ? new MaskModel(MaskKind.Random, "", kept, maskSeed) : MaskModel.None;
    }

    /// <summary>
    /// Reports FN024 unless the layer before writes a (C, H, W) map: a spatial layer cannot read a vector. Returns
    /// whether it does.
    /// </summary>
    public bool CheckReadsMap(string kind)
    {
        if (PreviousWritesMap)
        {
            return true;
        }

        string remedy = previousIsInput
            ? "declare the input as [Input(channels, height, width)]"
            : "spatial layers come before the first Dense, which flattens what it reads";
        Report(DiagnosticDescriptors.SpatialLayerNeedsMap, Name, kind, PreviousName, Text(PreviousShape.Size), remedy);
        return false;
    }

    public static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static bool IsMaskSignature(IMethodSymbol method) =>
        method.IsStatic
        && !method.IsGenericMethod
        && method.ReturnType.SpecialType == SpecialType.System_Boolean
        && method.Parameters.Length == 2
        && method.Parameters.All(parameter => parameter.Type.SpecialType == SpecialType.System_Int32 && parameter.RefKind == RefKind.None);
}
