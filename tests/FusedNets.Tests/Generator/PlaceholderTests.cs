using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;

namespace FusedNets.Tests.Generator;

/// <summary>
/// A declaration with errors gets a placeholder instead of its network: the members a network's code uses, each
/// throwing, so that code keeps compiling while the FN errors are fixed and those errors are the only ones.
/// </summary>
public class PlaceholderTests
{
    [Theory]
    [InlineData("SoftmaxCrossEntropy")]
    [InlineData("MeanSquaredError")]
    public void A_placeholder_has_the_public_members_of_the_network_it_stands_in_for(string loss)
    {
        string valid = $$"""
            using FusedNets;
            namespace Surface;

            [Network(Loss = Loss.{{loss}})]
            public partial class Net
            {
                [Input(6)] public partial Layer In { get; }
                [Dense(4, Activation.Relu)] public partial Layer Hidden { get; }
                [Dense(2)] internal partial Layer Out { get; }
            }
            """;
        GeneratorRun network = GeneratorHarness.Run(valid);
        GeneratorRun placeholder = GeneratorHarness.Run(valid.Replace("Activation.Relu", "Activation.Relu, Density = 0", StringComparison.Ordinal));

        Assert.Empty(network.FusedNetsDiagnostics);
        Assert.Equal("FN010", Assert.Single(placeholder.FusedNetsDiagnostics).Id);
        Assert.Empty(placeholder.CompilerErrors);
        Assert.Equal(PublicSurface(network), PublicSurface(placeholder));
    }

    [Fact]
    public void A_placeholder_leaves_out_the_members_whose_names_the_declaration_takes()
    {
        GeneratorRun run = GeneratorHarness.Run("""
            using FusedNets;
            namespace Taken;

            [Network]
            public partial class Net
            {
                [Input(4)] public partial Layer Input { get; }
                [Dense(2)] public partial Layer Out { get; }
                public static int Load => 3;
            }
            """);

        Assert.Equal(["FN020", "FN022"], run.FusedNetsDiagnostics.Select(diagnostic => diagnostic.Id).Order(StringComparer.Ordinal));
        Assert.Empty(run.CompilerErrors);
        string generated = run.GeneratedSource("Taken.Net.g.cs");
        Assert.DoesNotContain("struct Input", generated, StringComparison.Ordinal);
        Assert.DoesNotContain(" Load(", generated, StringComparison.Ordinal);
        Assert.DoesNotContain(" Predict(", generated, StringComparison.Ordinal);
        Assert.Contains("public struct Output", generated, StringComparison.Ordinal);
    }

    [Fact]
    public void A_placeholder_implements_partial_properties_of_any_form_that_carry_a_layer_attribute()
    {
        GeneratorRun run = GeneratorHarness.Run("""
            using FusedNets;
            namespace Forms;

            [Network]
            public partial class Net
            {
                [Input(4)] public partial Layer In { get; }
                [Dense(3)] public partial Layer? Nullable { get; }
                [Dense(3)] public partial int Number { get; private set; }
                [Dense(3)] public partial System.Collections.Generic.List<(int Units, string Name)> Tuples { get; init; }
                [Dense(3)] internal static partial Layer Shared { get; }
                public partial Layer Forgotten { get; }
                [Dense(2)] public partial Layer Out { get; }
            }
            """);

        Assert.Equal(["FN007", "FN007", "FN007", "FN007", "FN017"], run.FusedNetsDiagnostics.Select(diagnostic => diagnostic.Id).Order(StringComparer.Ordinal));
        Assert.Empty(run.CompilerErrors);
        Assert.Empty(run.DiagnosticsInGeneratedCode);
    }

    [Fact]
    public void A_placeholder_throws_where_its_errors_were_silenced()
    {
        // The build fails on the FN errors; only a project that turns them off gets to run the placeholder.
        GeneratorRun run = GeneratorHarness.Run("""
            using FusedNets;
            namespace Silenced;

            [Network]
            public partial class Net
            {
                [Input(4)] public partial Layer In { get; }
                [Dense(0)] public partial Layer Out { get; }
            }
            """);
        Assert.Equal("FN005", Assert.Single(run.FusedNetsDiagnostics).Id);

        using var image = new MemoryStream();
        Assert.True(run.Output.Emit(image).Success);
        var context = new AssemblyLoadContext("placeholder", isCollectible: true);
        try
        {
            image.Position = 0;
            Type network = context.LoadFromStream(image).GetType("Silenced.Net")!;
            var thrown = Assert.Throws<TargetInvocationException>(() => Activator.CreateInstance(network, 0, Backend.Cpu));
            var reason = Assert.IsType<InvalidOperationException>(thrown.InnerException);
            Assert.Contains("Net cannot be used", reason.Message, StringComparison.Ordinal);
            Assert.Contains("FN diagnostics", reason.Message, StringComparison.Ordinal);
        }
        finally
        {
            context.Unload();
        }
    }

    [Theory]
    [InlineData("[Dense(2)]")]
    [InlineData("[Dense(2, Inputs = 5)]")]
    public void Generated_code_documents_every_public_member(string outputAttribute)
    {
        // A project that generates its XML documentation warns (CS1591) about every undocumented public member.
        GeneratorRun run = GeneratorHarness.RunWithDocumentation($$"""
            using FusedNets;
            namespace Documented;

            /// <summary>A network.</summary>
            [Network]
            public partial class Net
            {
                /// <summary>Its input.</summary>
                [Input(4)] public partial Layer In { get; }

                /// <summary>Its output.</summary>
                {{outputAttribute}} public partial Layer Out { get; }
            }
            """);

        Assert.Empty(run.Output.GetDiagnostics().Where(diagnostic => diagnostic.Severity >= DiagnosticSeverity.Warning));
    }

    /// <summary>Every public member of the network class and of its public nested types, as C# displays its signature.</summary>
    private static string[] PublicSurface(GeneratorRun run)
    {
        INamedTypeSymbol network = run.Output.GetTypeByMetadataName("Surface.Net")!;
        return [.. network.GetMembers()
            .Concat(network.GetTypeMembers().Where(nested => nested.DeclaredAccessibility == Accessibility.Public).SelectMany(nested => nested.GetMembers()))
            .Where(member => member.DeclaredAccessibility == Accessibility.Public && !member.IsImplicitlyDeclared)
            .Select(member => member.ToDisplayString())
            .Order(StringComparer.Ordinal)];
    }
}
