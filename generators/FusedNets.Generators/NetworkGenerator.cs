using System;
using System.Linq;
using FusedNets.Generators.Emit;
using FusedNets.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace FusedNets.Generators;

/// <summary>
/// The pipeline: find <c>[Network]</c> classes, parse each into a value-equatable model, emit source from valid
/// models and a placeholder for the others, and report diagnostics from a separate step so that a moving error
/// location does not regenerate source. Apart from the networks, a project that references FusedNets.Gpu gets the
/// registration of its backends.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class NetworkGenerator : IIncrementalGenerator
{
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        IncrementalValuesProvider<ParseResult> results = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                Parser.NetworkAttribute,
                predicate: static (node, _) => node is ClassDeclarationSyntax,
                transform: Parser.Parse)
            .WithTrackingName(TrackingNames.Parse);

        IncrementalValuesProvider<NetworkModel> models = results
            .Where(static result => result.Network is not null)
            .Select(static (result, _) => result.Network!.Value)
            .WithTrackingName(TrackingNames.Model);

        IncrementalValuesProvider<PlaceholderModel> placeholders = results
            .Where(static result => result.Placeholder is not null)
            .Select(static (result, _) => result.Placeholder!.Value)
            .WithTrackingName(TrackingNames.Placeholder);

        // Every network's name, for file names unique among them; it changes only when a network is added or renamed.
        IncrementalValueProvider<EquatableArray<string>> typeNames = results
            .Where(static result => result.TypeName.Length > 0)
            .Select(static (result, _) => result.TypeName)
            .Collect()
            .Select(static (names, _) => new EquatableArray<string>(names.OrderBy(name => name, StringComparer.Ordinal).ToArray()))
            .WithTrackingName(TrackingNames.TypeNames);

        IncrementalValuesProvider<EquatableArray<DiagnosticInfo>> diagnostics = results
            .Select(static (result, _) => result.Diagnostics)
            .WithTrackingName(TrackingNames.Diagnostics);

        context.RegisterSourceOutput(models.Combine(typeNames), static (output, pair) =>
            output.AddSource(HintNames.For(pair.Left.FullName, pair.Right), NetworkEmitter.Emit(pair.Left)));

        context.RegisterSourceOutput(placeholders.Combine(typeNames), static (output, pair) =>
            output.AddSource(HintNames.For(pair.Left.TypeName, pair.Right), PlaceholderEmitter.Emit(pair.Left)));

        IncrementalValueProvider<bool> referencesGpuPackage = context.CompilationProvider
            .Select(static (compilation, _) => GpuRegistrationEmitter.Applies(compilation))
            .WithTrackingName(TrackingNames.GpuPackage);

        context.RegisterSourceOutput(referencesGpuPackage, static (output, applies) =>
        {
            if (applies)
            {
                output.AddSource(GpuRegistrationEmitter.HintName, GpuRegistrationEmitter.Emit());
            }
        });

        context.RegisterSourceOutput(diagnostics, static (output, found) =>
        {
            foreach (DiagnosticInfo diagnostic in found)
            {
                output.ReportDiagnostic(diagnostic.ToDiagnostic());
            }
        });
    }
}
