using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace FusedNets.Generators.Diagnostics;

/// <summary>
/// Every diagnostic the generator reports. IDs are stable; docs/diagnostics.md explains each with an example,
/// and AnalyzerReleases.*.md track them.
/// </summary>
public static class DiagnosticDescriptors
{
    private const string Category = "FusedNets";

    public static readonly DiagnosticDescriptor ClassNotPartial = Error(
        "FN001",
        "Network class must be partial",
        "Network '{0}' must be declared partial so that FusedNets can generate its kernels and members");

    public static readonly DiagnosticDescriptor MissingInput = Error(
        "FN002",
        "Network has no [Input] layer",
        "Network '{0}' has no [Input] layer: declare one, first, as '[Input(size)] public partial Layer Name {{ get; }}'");

    public static readonly DiagnosticDescriptor DuplicateInput = Error(
        "FN003",
        "Network has more than one [Input] layer",
        "Layer '{0}' is a second [Input] in network '{1}': a network has exactly one input, already declared by '{2}'");

    public static readonly DiagnosticDescriptor InputNotFirst = Error(
        "FN004",
        "[Input] must be the first layer",
        "[Input] layer '{0}' must come first in network '{1}', but layer '{2}' is declared before it");

    public static readonly DiagnosticDescriptor NonPositiveSize = Error(
        "FN005",
        "Layer size must be positive",
        "Layer '{0}' has {1} = {2}: expected a size of at least 1");

    public static readonly DiagnosticDescriptor InputsMismatch = Error(
        "FN006",
        "Declared Inputs disagree with the previous layer",
        "Layer '{0}' declares Inputs = {1}, but the previous layer '{2}' has {3}");

    public static readonly DiagnosticDescriptor NotALayerProperty = Error(
        "FN007",
        "Layer member must be a partial Layer property",
        "'{0}' carries a layer attribute but is {1}: expected an instance property declared as 'public partial Layer {0} {{ get; }}'");

    public static readonly DiagnosticDescriptor MaskMethodMissing = Error(
        "FN008",
        "Mask method not found",
        "Layer '{0}' names mask method '{1}', but network '{2}' has no method of that name: expected 'static bool {1}(int output, int input)'");

    public static readonly DiagnosticDescriptor MaskMethodSignature = Error(
        "FN009",
        "Mask method has the wrong signature",
        "Layer '{0}' names mask method '{1}', declared as '{2}': expected 'static bool {1}(int output, int input)'");

    public static readonly DiagnosticDescriptor DensityOutOfRange = Error(
        "FN010",
        "Density must be in (0, 1]",
        "Layer '{0}' has Density = {1}: expected a fraction of kept weights greater than 0 and at most 1");

    public static readonly DiagnosticDescriptor OutputUnsuitableForLoss = Error(
        "FN011",
        "Output layer does not suit the loss",
        "Output layer '{0}' has {1} unit(s), but {2} needs at least {3}");

    public static readonly DiagnosticDescriptor SizeOverflow = Error(
        "FN012",
        "Layer is too large",
        "Layer '{0}' {1}: expected at most 2147483647");

    public static readonly DiagnosticDescriptor MaskAndDensity = Error(
        "FN013",
        "Mask and Density both set",
        "Layer '{0}' sets both Mask = \"{1}\" and Density = {2}: choose one way to fix weights to zero");

    public static readonly DiagnosticDescriptor NoDenseLayer = Error(
        "FN014",
        "Network has no layer after its input",
        "Network '{0}' has an input but no layer after it: expected at least one, the last being the output");

    public static readonly DiagnosticDescriptor UnsupportedClass = Error(
        "FN015",
        "Network class has an unsupported form",
        "Network '{0}' is {1}: expected a class that is not generic, static, abstract or file-local, declared directly in a namespace");

    public static readonly DiagnosticDescriptor BaseClassNotAllowed = Error(
        "FN016",
        "Network class must not declare a base class",
        "Network '{0}' derives from '{1}': FusedNets makes it derive from FusedNets.Network, so declare no base class");

    public static readonly DiagnosticDescriptor LayerWithoutAttribute = Error(
        "FN017",
        "Layer property without a layer attribute",
        "Property '{0}' of network '{1}' is a partial Layer without a layer attribute: add one ([Input], [Dense], [Conv2D], [MaxPool2D] or [AvgPool2D]), or remove the property");

    public static readonly DiagnosticDescriptor SeveralLayerAttributes = Error(
        "FN018",
        "Property has more than one layer attribute",
        "Property '{0}' carries {1} layer attributes: expected exactly one of [Input], [Dense], [Conv2D], [MaxPool2D] or [AvgPool2D]");

    public static readonly DiagnosticDescriptor UnknownEnumValue = Error(
        "FN019",
        "Unknown activation or loss",
        "'{0}' is not a known {1}: expected one of {2}");

    public static readonly DiagnosticDescriptor LayerNameTaken = Error(
        "FN020",
        "Layer named like a member of every network",
        "Layer '{0}' of network '{1}' has the name of {2}: rename the layer, for example to '{3}'");

    public static readonly DiagnosticDescriptor ClassNameTaken = Error(
        "FN021",
        "Network class named like a member generated in it",
        "Network '{0}' has the name of {1}, and no member may be named like its class: rename the class, for example to '{2}'");

    public static readonly DiagnosticDescriptor MemberNameTaken = Error(
        "FN022",
        "Member named like a generated member",
        "'{0}' of network '{1}' has the name of {2}: rename it");

    public static readonly DiagnosticDescriptor UnmanagedIsAType = Error(
        "FN023",
        "A type named 'unmanaged' is in scope of the network",
        "'{0}' is a type named 'unmanaged' in scope of network '{1}', whose generated CPU kernels need 'unmanaged' to mean the constraint: rename the type");

    public static readonly DiagnosticDescriptor SpatialLayerNeedsMap = Error(
        "FN024",
        "Spatial layer after a vector",
        "Layer '{0}' is a {1}, which reads a (channels, height, width) map, but '{2}' before it gives a vector of {3} values: {4}");

    public static readonly DiagnosticDescriptor KernelLargerThanInput = Error(
        "FN025",
        "Convolution kernel larger than its padded input",
        "Layer '{0}' has a {1}×{1} kernel, but '{2}' before it gives {3}, only {5} with padding {4}: expected a kernel that fits");

    public static readonly DiagnosticDescriptor WindowLargerThanMap = Error(
        "FN026",
        "Pooling window larger than the map",
        "Layer '{0}' pools {1}×{1} windows, but '{2}' before it gives {3}: expected a window that fits");

    public static readonly DiagnosticDescriptor NegativePadding = Error(
        "FN027",
        "Padding must not be negative",
        "Layer '{0}' has Padding = {1}: expected 0 or more");

    /// <summary>All descriptors, in ID order.</summary>
    public static IReadOnlyList<DiagnosticDescriptor> All { get; } = typeof(DiagnosticDescriptors)
        .GetFields()
        .Where(field => field.FieldType == typeof(DiagnosticDescriptor))
        .Select(field => (DiagnosticDescriptor)field.GetValue(null)!)
        .OrderBy(descriptor => descriptor.Id, System.StringComparer.Ordinal)
        .ToArray();

    private static readonly Dictionary<string, DiagnosticDescriptor> s_byId = All.ToDictionary(descriptor => descriptor.Id);

    public static DiagnosticDescriptor ById(string id) => s_byId[id];

    private static DiagnosticDescriptor Error(string id, string title, string message) => new(
        id,
        title,
        message,
        Category,
        DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        helpLinkUri: "docs/diagnostics.md#" + id.ToLowerInvariant());
}
