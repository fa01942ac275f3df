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

/// <summary>What parsing one declaration yields: a model when it is valid, and its diagnostics.</summary>
internal readonly record struct ParseResult(NetworkModel? Model, EquatableArray<DiagnosticInfo> Diagnostics);
