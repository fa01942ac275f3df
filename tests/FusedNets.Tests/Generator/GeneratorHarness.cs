using System.Collections.Immutable;
using FusedNets.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace FusedNets.Tests.Generator;

/// <summary>Runs the generator over source text the way a user's build would, and keeps everything it produced.</summary>
internal static class GeneratorHarness
{
    private static readonly CSharpParseOptions s_parseOptions = new(LanguageVersion.Preview);

    private static readonly Lazy<MetadataReference[]> s_references = new(() =>
    {
        // The running test host's framework, plus FusedNets and ILGPU, as a user's project references them.
        string[] framework = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        return framework
            .Concat([typeof(Network).Assembly.Location, typeof(ILGPU.Context).Assembly.Location])
            .Distinct()
            .Select(path => (MetadataReference)MetadataReference.CreateFromFile(path))
            .ToArray();
    });

    public static CSharpCompilation Compile(params string[] sources) => Compile(s_parseOptions, sources);

    private static CSharpCompilation Compile(CSharpParseOptions parseOptions, string[] sources) => CSharpCompilation.Create(
        "UserAssembly",
        sources.Select((source, i) => CSharpSyntaxTree.ParseText(source, parseOptions, path: $"Source{i}.cs")),
        s_references.Value,
        new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    public static GeneratorDriver CreateDriver() => CreateDriver(s_parseOptions);

    private static GeneratorDriver CreateDriver(CSharpParseOptions parseOptions) => CSharpGeneratorDriver.Create(
        [new NetworkGenerator().AsSourceGenerator()],
        parseOptions: parseOptions,
        driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    /// <summary>Runs the generator once over <paramref name="sources"/>.</summary>
    public static GeneratorRun Run(params string[] sources) => Run(s_parseOptions, sources);

    /// <summary>Runs the generator once over <paramref name="sources"/> with documentation comments checked, as a project that generates its XML documentation.</summary>
    public static GeneratorRun RunWithDocumentation(params string[] sources) => Run(s_parseOptions.WithDocumentationMode(DocumentationMode.Diagnose), sources);

    private static GeneratorRun Run(CSharpParseOptions parseOptions, string[] sources)
    {
        CSharpCompilation input = Compile(parseOptions, sources);
        GeneratorDriver driver = CreateDriver(parseOptions).RunGeneratorsAndUpdateCompilation(input, out Compilation output, out ImmutableArray<Diagnostic> generatorDiagnostics);
        return new GeneratorRun(driver.GetRunResult(), output, generatorDiagnostics);
    }
}

/// <summary>One generator run: what it emitted and reported, and the user's compilation with the generated code added.</summary>
internal sealed record GeneratorRun(GeneratorDriverRunResult Result, Compilation Output, ImmutableArray<Diagnostic> GeneratorDiagnostics)
{
    /// <summary>Exceptions the generator threw (each also surfaces to users as warning CS8785).</summary>
    public IEnumerable<Exception> Exceptions => Result.Results.Select(result => result.Exception).OfType<Exception>();

    /// <summary>The FN diagnostics.</summary>
    public ImmutableArray<Diagnostic> FusedNetsDiagnostics => [.. GeneratorDiagnostics.Where(diagnostic => diagnostic.Id.StartsWith("FN", StringComparison.Ordinal))];

    /// <summary>Errors of the compilation with the generated code, FN diagnostics excluded.</summary>
    public ImmutableArray<Diagnostic> CompilerErrors => [.. Output.GetDiagnostics().Where(diagnostic => diagnostic.Severity == DiagnosticSeverity.Error)];

    /// <summary>Compiler diagnostics of any severity located in generated code, which a user could neither read nor fix.</summary>
    public ImmutableArray<Diagnostic> DiagnosticsInGeneratedCode =>
        [.. Output.GetDiagnostics().Where(diagnostic => Result.GeneratedTrees.Any(tree => tree.FilePath == diagnostic.Location.GetLineSpan().Path))];

    public string GeneratedSource(string hintName) =>
        Result.Results.SelectMany(result => result.GeneratedSources).Single(source => source.HintName == hintName).SourceText.ToString();
}
