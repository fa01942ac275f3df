using System.Collections.Immutable;
using FusedNets.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace FusedNets.Tests.Generator;

/// <summary>Runs the generator over source text the way a user's build would, and keeps everything it produced.</summary>
internal static class GeneratorHarness
{
    private static readonly CSharpParseOptions s_parseOptions = new(LanguageVersion.Preview);

    // The running test host's framework plus FusedNets, as a project that references the FusedNets package sees them.
    private static readonly Lazy<MetadataReference[]> s_references = new(() => References(typeof(Network).Assembly.Location));

    // The same plus FusedNets.Gpu and ILGPU, as a project that references the FusedNets.Gpu package sees them.
    private static readonly Lazy<MetadataReference[]> s_referencesWithGpuPackage = new(() => References(
        typeof(Network).Assembly.Location, typeof(FusedNets.Gpu.IlgpuEngineProvider).Assembly.Location, typeof(ILGPU.Context).Assembly.Location));

    public static CSharpCompilation Compile(params string[] sources) => Compile(s_parseOptions, s_references.Value, sources);

    /// <summary>A compilation of <paramref name="sources"/> in a project that references FusedNets.Gpu.</summary>
    public static CSharpCompilation CompileWithGpuPackage(params string[] sources) => Compile(s_parseOptions, s_referencesWithGpuPackage.Value, sources);

    private static CSharpCompilation Compile(CSharpParseOptions parseOptions, MetadataReference[] references, string[] sources) => CSharpCompilation.Create(
        "UserAssembly",
        sources.Select((source, i) => CSharpSyntaxTree.ParseText(source, parseOptions, path: $"Source{i}.cs")),
        references,
        new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    // The framework's assemblies only: the test host's trusted assemblies also hold everything the tests reference.
    private static MetadataReference[] References(params string[] assemblies) =>
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(path => Path.GetDirectoryName(path) == Path.GetDirectoryName(typeof(object).Assembly.Location))
            .Concat(assemblies)
            .Distinct()
            .Select(path => (MetadataReference)MetadataReference.CreateFromFile(path))
            .ToArray();

    public static GeneratorDriver CreateDriver() => CreateDriver(s_parseOptions);

    private static GeneratorDriver CreateDriver(CSharpParseOptions parseOptions) => CSharpGeneratorDriver.Create(
        [new NetworkGenerator().AsSourceGenerator()],
        parseOptions: parseOptions,
        driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    /// <summary>Runs the generator once over <paramref name="sources"/>.</summary>
    public static GeneratorRun Run(params string[] sources) => Run(Compile(sources));

    /// <summary>Runs the generator once over <paramref name="sources"/> with documentation comments checked, as a project that generates its XML documentation.</summary>
    public static GeneratorRun RunWithDocumentation(params string[] sources)
    {
        CSharpParseOptions parseOptions = s_parseOptions.WithDocumentationMode(DocumentationMode.Diagnose);
        return Run(Compile(parseOptions, s_references.Value, sources), parseOptions);
    }

    /// <summary>Runs the generator once over <paramref name="input"/>.</summary>
    public static GeneratorRun Run(CSharpCompilation input) => Run(input, s_parseOptions);

    private static GeneratorRun Run(CSharpCompilation input, CSharpParseOptions parseOptions)
    {
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
