using FusedNets.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace FusedNets.Tests.Generator;

/// <summary>The pipeline is incremental: an edit that does not touch a network reuses every step's output.</summary>
public class GeneratorCachingTests
{
    private const string Declaration = """
        using FusedNets;

        [Network]
        public partial class Net
        {
            [Input(8)] public partial Layer In { get; }
            [Dense(6, Activation.Relu)] public partial Layer Hidden { get; }
            [Dense(3)] public partial Layer Out { get; }
        }
        """;

    private const string DeclarationWithError = """
        using FusedNets;

        [Network]
        public partial class Net
        {
            [Input(8)] public partial Layer In { get; }
            [Dense(6, Inputs = 7)] public partial Layer Out { get; }
        }
        """;

    [Theory]
    [InlineData(Declaration, new[] { TrackingNames.Parse, TrackingNames.Model, TrackingNames.TypeNames, TrackingNames.Diagnostics, TrackingNames.GpuPackage })]
    [InlineData(DeclarationWithError, new[] { TrackingNames.Parse, TrackingNames.Placeholder, TrackingNames.TypeNames, TrackingNames.Diagnostics, TrackingNames.GpuPackage })]
    public void An_unrelated_edit_leaves_every_step_cached(string declaration, string[] steps)
    {
        CSharpCompilation compilation = GeneratorHarness.Compile(declaration, "public static class Other { public static int Value => 1; }");
        GeneratorDriver driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);

        SyntaxTree otherTree = compilation.SyntaxTrees.Last();
        CSharpCompilation edited = compilation.ReplaceSyntaxTree(
            otherTree,
            CSharpSyntaxTree.ParseText("public static class Other { public static int Value => 2; }", (CSharpParseOptions)otherTree.Options, otherTree.FilePath));
        GeneratorRunResult rerun = driver.RunGenerators(edited).GetRunResult().Results.Single();

        foreach (string step in steps)
        {
            IncrementalGeneratorRunStep[] runs = rerun.TrackedSteps[step].ToArray();
            Assert.NotEmpty(runs);
            foreach ((object _, IncrementalStepRunReason reason) in runs.SelectMany(run => run.Outputs))
            {
                Assert.True(reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"Step {step} ran again: {reason}");
            }
        }

        Assert.All(
            rerun.TrackedOutputSteps.SelectMany(pair => pair.Value).SelectMany(run => run.Outputs),
            output => Assert.Equal(IncrementalStepRunReason.Cached, output.Reason));
    }

    [Fact]
    public void Editing_a_layer_regenerates_the_network()
    {
        CSharpCompilation compilation = GeneratorHarness.Compile(Declaration);
        GeneratorDriver driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);
        SyntaxTree tree = compilation.SyntaxTrees.Single();
        CSharpCompilation edited = compilation.ReplaceSyntaxTree(
            tree,
            CSharpSyntaxTree.ParseText(Declaration.Replace("Dense(6,", "Dense(7,", StringComparison.Ordinal), (CSharpParseOptions)tree.Options, tree.FilePath));

        GeneratorRunResult rerun = driver.RunGenerators(edited).GetRunResult().Results.Single();

        Assert.Contains(rerun.TrackedSteps[TrackingNames.Model].SelectMany(run => run.Outputs), output => output.Reason == IncrementalStepRunReason.Modified);
        Assert.Contains("public const int ParameterCount = 87;", rerun.GeneratedSources.Single().SourceText.ToString(), StringComparison.Ordinal);
    }
}
