using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace FusedNets.Generators.Model;

/// <summary>Where a diagnostic points, without holding a syntax tree.</summary>
internal readonly record struct LocationInfo(string FilePath, TextSpan Span, LinePositionSpan LineSpan)
{
    public static LocationInfo? From(Location? location) =>
        location is { SourceTree: not null }
            ? new LocationInfo(location.SourceTree.FilePath, location.SourceSpan, location.GetLineSpan().Span)
            : null;

    public Location ToLocation() => Location.Create(FilePath, Span, LineSpan);
}

/// <summary>A diagnostic to report, as values: the descriptor's ID, where, and the message arguments.</summary>
internal readonly record struct DiagnosticInfo(string Id, LocationInfo? Location, EquatableArray<string> Arguments)
{
    public Diagnostic ToDiagnostic() => Diagnostic.Create(
        Diagnostics.DiagnosticDescriptors.ById(Id),
        Location?.ToLocation(),
        System.Linq.Enumerable.ToArray<object>(Arguments));
}

/// <summary>What parsing one declaration yields: its diagnostics, and the network when it is valid, else the placeholder that stands in for it.</summary>
/// <param name="TypeName">The class's full metadata name (<see cref="PlaceholderModel.TypeName"/>); empty when nothing is generated for this declaration.</param>
/// <param name="Network">The checked network, when the declaration has no error.</param>
/// <param name="Placeholder">Otherwise what the generator can emit in its place, if anything.</param>
/// <param name="Diagnostics">The FN diagnostics.</param>
internal readonly record struct ParseResult(string TypeName, NetworkModel? Network, PlaceholderModel? Placeholder, EquatableArray<DiagnosticInfo> Diagnostics)
{
    public static ParseResult Nothing => new("", null, null, EquatableArray<DiagnosticInfo>.Empty);
}
