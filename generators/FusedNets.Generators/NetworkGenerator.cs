using FusedNets.Generators.Emit;
using FusedNets.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace FusedNets.Generators;

/// <summary>
/// The pipeline: find <c>[Network]</c> classes, parse each into a value-equatable model, emit source from
/// valid models, and report diagnostics from a separate step so that a moving error location does not
/// regenerate source. Apart from the networks, a project that references FusedNets.Gpu gets the registration of its
/// backends.
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
            .Where(static result => result.Model is not null)
            .Select(static (result, _) => result.Model!.Value)
            .WithTrackingName(TrackingNames.Model);

        IncrementalValuesProvider<EquatableArray<DiagnosticInfo>> diagnostics = results
            .Select(static (result, _) => result.Diagnostics)
            .WithTrackingName(TrackingNames.Diagnostics);

        context.RegisterSourceOutput(models, static (output, network) =>
            output.AddSource(NetworkEmitter.HintName(network), NetworkEmitter.Emit(network)));

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
