using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace FusedNets.Tests.Generator;

/// <summary>
/// Every mistake in a declaration is a compile error with its own ID at the offending attribute or member, and
/// the only error: the generator still implements the declared layers (it emits a placeholder class), so no
/// CS9248 or other compiler error follows from the mistake. In each source below, [| and |] mark where the error
/// must point (inside an attribute list, the attribute itself).
/// </summary>
public class DiagnosticTests
{
    // A partial property outside a partial class is the user's own error (CS0751), and no generated part can
    // join a class that is not partial, so each layer also lacks its implementation (CS9248).
    [Fact]
    public void FN001_class_not_partial() => AssertSingleBeside("FN001", """
        [Network]
        public class [|Net|]
        {
            [Input(4)] public partial Layer In { get; }
            [Dense(2)] public partial Layer Out { get; }
        }
        """, ["CS0751", "CS0751", "CS9248", "CS9248"], "'Net'");

    [Fact]
    public void FN002_no_input_layer() => AssertSingle("FN002", """
        [Network]
        public partial class [|Net|]
        {
            [Dense(2)] public partial Layer Out { get; }
        }
        """, "'Net'");

    [Fact]
    public void FN003_second_input_layer() => AssertSingle("FN003", """
        [Network]
        public partial class Net
        {
            [Input(4)] public partial Layer In { get; }
            [[|Input(5)|]] public partial Layer Again { get; }
            [Dense(2)] public partial Layer Out { get; }
        }
        """, "'Again'", "'In'");

    [Fact]
    public void FN004_input_not_first() => AssertSingle("FN004", """
        [Network]
        public partial class Net
        {
            [Dense(3)] public partial Layer Early { get; }
            [[|Input(4)|]] public partial Layer In { get; }
            [Dense(2)] public partial Layer Out { get; }
        }
        """, "'In'", "'Early'");

    [Theory]
    [InlineData("Dense(0)", "units = 0")]
    [InlineData("Dense(-3)", "units = -3")]
    public void FN005_units_not_positive(string attribute, string expected) => AssertSingle("FN005", $$"""
        [Network]
        public partial class Net
        {
            [Input(4)] public partial Layer In { get; }
            [[|{{attribute}}|]] public partial Layer Hidden { get; }
            [Dense(2)] public partial Layer Out { get; }
        }
        """, "'Hidden'", expected);

    [Fact]
    public void FN005_input_size_not_positive() => AssertSingle("FN005", """
        [Network]
        public partial class Net
        {
            [[|Input(0)|]] public partial Layer In { get; }
            [Dense(2)] public partial Layer Out { get; }
        }
        """, "'In'", "size = 0");

    [Fact]
    public void FN006_declared_inputs_disagree_with_previous_layer() => AssertSingle("FN006", """
        [Network]
        public partial class Net
        {
            [Input(784)] public partial Layer Pixels { get; }
            [Dense(128, Activation.Relu)] public partial Layer Hidden { get; }
            [[|Dense(10, Inputs = 64)|]] public partial Layer Logits { get; }
        }
        """, "'Logits'", "Inputs = 64", "'Hidden' has 128 units");

    [Theory]
    [InlineData("[[|Dense(3)|]] public Layer NotPartial => null!;", "not a partial property")]
    [InlineData("[[|Dense(3)|]] public partial int Wrong { get; }", "of type 'int'")]
    [InlineData("[[|Dense(3)|]] public static partial Layer Shared { get; }", "a static property")]
    [InlineData("[[|Dense(3)|]] public partial ref Layer ByReference { get; }", "a ref property")]
    [InlineData("[[|Dense(3)|]] public partial Layer this[int @in, params string[] names] { get; }", "an indexer")]
    public void FN007_layer_member_is_not_a_partial_layer_property(string member, string expected) => AssertSingle("FN007", $$"""
        [Network]
        public partial class Net
        {
            [Input(4)] public partial Layer In { get; }
            {{member}}
            [Dense(2)] public partial Layer Out { get; }
        }
        """, expected);

    [Fact]
    public void FN008_mask_method_missing() => AssertSingle("FN008", """
        [Network]
        public partial class Net
        {
            [Input(4)] public partial Layer In { get; }
            [[|Dense(4, Mask = "Banded")|]] public partial Layer Hidden { get; }
            [Dense(2)] public partial Layer Out { get; }
        }
        """, "'Hidden'", "'Banded'", "static bool Banded(int output, int input)");

    [Theory]
    [InlineData("static int Banded(int output, int input) => 1;")]
    [InlineData("bool Banded(int output, int input) => true;")]
    [InlineData("static bool Banded(int output) => true;")]
    [InlineData("static bool Banded(long output, int input) => true;")]
    public void FN009_mask_method_has_the_wrong_signature(string method) => AssertSingle("FN009", $$"""
        [Network]
        public partial class Net
        {
            [Input(4)] public partial Layer In { get; }
            [[|Dense(4, Mask = nameof(Banded))|]] public partial Layer Hidden { get; }
            [Dense(2)] public partial Layer Out { get; }
            {{method}}
        }
        """, "'Hidden'", "static bool Banded(int output, int input)");

    [Theory]
    [InlineData("0", "Density = 0")]
    [InlineData("-0.5", "Density = -0.5")]
    [InlineData("1.5", "Density = 1.5")]
    [InlineData("double.NaN", "Density = NaN")]
    public void FN010_density_outside_zero_to_one(string density, string expected) => AssertSingle("FN010", $$"""
        [Network]
        public partial class Net
        {
            [Input(4)] public partial Layer In { get; }
            [[|Dense(4, Density = {{density}})|]] public partial Layer Hidden { get; }
            [Dense(2)] public partial Layer Out { get; }
        }
        """, "'Hidden'", expected);

    [Fact]
    public void FN011_softmax_classifier_with_one_output() => AssertSingle("FN011", """
        [Network(Loss = Loss.SoftmaxCrossEntropy)]
        public partial class Net
        {
            [Input(4)] public partial Layer In { get; }
            [[|Dense(1)|]] public partial Layer Out { get; }
        }
        """, "'Out' has 1 unit(s)", "SoftmaxCrossEntropy", "at least 2");

    [Fact]
    public void FN012_weight_count_overflows() => AssertSingle("FN012", """
        [Network]
        public partial class Net
        {
            [Input(100000)] public partial Layer In { get; }
            [[|Dense(100000)|]] public partial Layer Huge { get; }
            [Dense(2)] public partial Layer Out { get; }
        }
        """, "'Huge'", "100000 × 100000");

    [Fact]
    public void FN013_mask_and_density_together() => AssertSingle("FN013", """
        [Network]
        public partial class Net
        {
            [Input(4)] public partial Layer In { get; }
            [[|Dense(4, Mask = nameof(Banded), Density = 0.5)|]] public partial Layer Hidden { get; }
            [Dense(2)] public partial Layer Out { get; }
            static bool Banded(int output, int input) => output == input;
        }
        """, "'Hidden'", "Density = 0.5");

    [Fact]
    public void FN014_no_dense_layer() => AssertSingle("FN014", """
        [Network]
        public partial class [|Net|]
        {
            [Input(4)] public partial Layer In { get; }
        }
        """, "'Net'");

    [Fact]
    public void FN015_generic_class() => AssertSingle("FN015", """
        [Network]
        public partial class [|Net|]<T>
        {
            [Input(4)] public partial Layer In { get; }
            [Dense(2)] public partial Layer Out { get; }
        }
        """, "generic");

    [Theory]
    [InlineData("[Network] public abstract partial class [|Net|]", "abstract")]
    [InlineData("public partial class Outer { [Network] public partial class [|Net|]", "nested in 'Outer'")]
    [InlineData("public partial record struct Outer<T> { [Network] public partial class [|Net|]", "generic")]
    public void FN015_abstract_or_nested_class(string header, string expected) => AssertSingle("FN015", $$"""
        {{header}}
        {
            [Input(4)] public partial Layer In { get; }
            [Dense(2)] public partial Layer Out { get; }
        {{(header.StartsWith("[Network]", StringComparison.Ordinal) ? "}" : "}}")}}
        """, expected);

    // Instance members in a static class are the user's own error (CS0708), whatever is generated.
    [Fact]
    public void FN015_static_class() => AssertSingleBeside("FN015", """
        [Network]
        public static partial class [|Net|]
        {
            [Input(4)] public partial Layer In { get; }
            [Dense(2)] public partial Layer Out { get; }
        }
        """, ["CS0708", "CS0708"], "static");

    // No part can be added to a class from another file when it is file-local, nor to a class nested in a type
    // that is not partial (that part would be the compiler's CS0260 at the user's type): the layers stay without
    // their implementations (CS9248), which the message's remedy removes.
    [Theory]
    [InlineData("[Network] file partial class [|Net|]", "file-local")]
    [InlineData("public class Outer { [Network] public partial class [|Net|]", "nested in 'Outer'")]
    public void FN015_class_that_no_generated_part_can_join(string header, string expected) => AssertSingleBeside("FN015", $$"""
        {{header}}
        {
            [Input(4)] public partial Layer In { get; }
            [Dense(2)] public partial Layer Out { get; }
        {{(header.StartsWith("[Network]", StringComparison.Ordinal) ? "}" : "}}")}}
        """, ["CS9248", "CS9248"], expected);

    [Fact]
    public void FN016_declared_base_class() => AssertSingle("FN016", """
        public class Base { }

        [Network]
        public partial class [|Net|] : Base
        {
            [Input(4)] public partial Layer In { get; }
            [Dense(2)] public partial Layer Out { get; }
        }
        """, "'Base'");

    [Fact]
    public void FN017_layer_property_without_attribute() => AssertSingle("FN017", """
        [Network]
        public partial class Net
        {
            [Input(4)] public partial Layer In { get; }
            public partial Layer [|Forgotten|] { get; }
            [Dense(2)] public partial Layer Out { get; }
        }
        """, "'Forgotten'");

    [Fact]
    public void FN018_two_layer_attributes_on_one_property() => AssertSingle("FN018", """
        [Network]
        public partial class Net
        {
            [Input(4)] public partial Layer In { get; }
            [Input(3)][[|Dense(3)|]] public partial Layer Twice { get; }
            [Dense(2)] public partial Layer Out { get; }
        }
        """, "'Twice'", "2 layer attributes");

    // [Dense] allows one use per member: the second is also the compiler's own CS0579.
    [Fact]
    public void FN018_the_same_layer_attribute_twice() => AssertSingleBeside("FN018", """
        [Network]
        public partial class Net
        {
            [Input(4)] public partial Layer In { get; }
            [Dense(3)][[|Dense(3)|]] public partial Layer Twice { get; }
            [Dense(2)] public partial Layer Out { get; }
        }
        """, ["CS0579"], "'Twice'");

    [Fact]
    public void FN019_activation_outside_the_enum() => AssertSingle("FN019", """
        [Network]
        public partial class Net
        {
            [Input(4)] public partial Layer In { get; }
            [[|Dense(3, (Activation)42)|]] public partial Layer Hidden { get; }
            [Dense(2)] public partial Layer Out { get; }
        }
        """, "'42'", "Relu");

    [Fact]
    public void FN020_layer_named_like_a_generated_member() => AssertSingle("FN020", """
        [Network]
        public partial class Net
        {
            [Input(4)] public partial Layer [|Input|] { get; }
            [Dense(2)] public partial Layer Out { get; }
        }
        """, "'Input'", "nested type 'Input' that FusedNets generates", "'InputLayer'");

    [Fact]
    public void FN020_layer_named_like_an_inherited_member() => AssertSingle("FN020", """
        [Network]
        public partial class Net
        {
            [Input(4)] public partial Layer In { get; }
            [Dense(2)] public partial Layer [|Layers|] { get; }
        }
        """, "'Layers'", "property 'FusedNets.Network.Layers' that every network inherits", "'LayersLayer'");

    [Fact]
    public void FN021_class_named_like_a_generated_nested_type() => AssertSingle("FN021", """
        [Network]
        public partial class [|Output|]
        {
            [Input(4)] public partial Layer In { get; }
            [Dense(2)] public partial Layer Out { get; }
        }
        """, "'Output'", "nested type 'Output'", "'OutputNetwork'");

    [Fact]
    public void FN022_member_named_like_a_generated_member() => AssertSingle("FN022", """
        [Network]
        public partial class Net
        {
            public const int [|InputSize|] = 4;
            [Input(InputSize)] public partial Layer In { get; }
            [Dense(2)] public partial Layer Out { get; }
        }
        """, "'InputSize'", "constant 'InputSize'");

    [Fact]
    public void FN023_type_named_unmanaged_in_scope() => AssertSingle("FN023", """
        public sealed class @unmanaged;

        [Network]
        public partial class [|Net|]
        {
            [Input(4)] public partial Layer In { get; }
            [Dense(2)] public partial Layer Out { get; }
        }
        """, "'unmanaged'", "'Net'");

    [Fact]
    public void FN024_convolution_after_a_vector_input() => AssertSingle("FN024", """
        [Network]
        public partial class Net
        {
            [Input(784)] public partial Layer Pixels { get; }
            [[|Conv2D(6, 5)|]] public partial Layer Conv { get; }
            [Dense(10)] public partial Layer Out { get; }
        }
        """, "'Conv'", "Conv2D", "'Pixels'", "vector of 784 values", "[Input(channels, height, width)]");

    [Fact]
    public void FN024_pooling_after_a_dense_layer() => AssertSingle("FN024", """
        [Network]
        public partial class Net
        {
            [Input(1, 8, 8)] public partial Layer Image { get; }
            [Dense(16)] public partial Layer Hidden { get; }
            [[|MaxPool2D(2)|]] public partial Layer Pool { get; }
            [Dense(10)] public partial Layer Out { get; }
        }
        """, "'Pool'", "MaxPool2D", "'Hidden'", "vector of 16 values", "before the first Dense");

    [Fact]
    public void FN025_kernel_larger_than_the_padded_input() => AssertSingle("FN025", """
        [Network]
        public partial class Net
        {
            [Input(1, 6, 6)] public partial Layer Image { get; }
            [MaxPool2D(2)] public partial Layer Pool { get; }
            [[|Conv2D(16, 5, Activation.Relu, Padding = 0)|]] public partial Layer Conv { get; }
            [Dense(10)] public partial Layer Out { get; }
        }
        """, "'Conv'", "5×5 kernel", "'Pool'", "(1, 3, 3)", "3×3 with padding 0");

    [Fact]
    public void Padding_makes_a_kernel_fit_that_the_input_alone_would_not() => AssertClean("""
        [Network]
        public partial class Net
        {
            [Input(1, 3, 3)] public partial Layer Image { get; }
            [Conv2D(2, 5, Padding = 1)] public partial Layer Conv { get; }
            [Dense(3)] public partial Layer Out { get; }
        }
        """);

    [Fact]
    public void FN026_pooling_window_larger_than_the_map() => AssertSingle("FN026", """
        [Network]
        public partial class Net
        {
            [Input(2, 3, 5)] public partial Layer Image { get; }
            [[|AvgPool2D(4)|]] public partial Layer Pool { get; }
            [Dense(3)] public partial Layer Out { get; }
        }
        """, "'Pool'", "4×4", "'Image'", "(2, 3, 5)");

    [Fact]
    public void FN027_negative_padding() => AssertSingle("FN027", """
        [Network]
        public partial class Net
        {
            [Input(1, 8, 8)] public partial Layer Image { get; }
            [[|Conv2D(4, 3, Padding = -1)|]] public partial Layer Conv { get; }
            [Dense(3)] public partial Layer Out { get; }
        }
        """, "'Conv'", "Padding = -1");

    [Theory]
    [InlineData("Conv2D(0, 3)", "filters = 0")]
    [InlineData("Conv2D(4, 0)", "kernel = 0")]
    [InlineData("Conv2D(4, 3, Stride = 0)", "Stride = 0")]
    [InlineData("MaxPool2D(0)", "size = 0")]
    [InlineData("AvgPool2D(-2)", "size = -2")]
    public void FN005_spatial_sizes_not_positive(string attribute, string expected) => AssertSingle("FN005", $$"""
        [Network]
        public partial class Net
        {
            [Input(1, 8, 8)] public partial Layer Image { get; }
            [[|{{attribute}}|]] public partial Layer Spatial { get; }
            [Dense(3)] public partial Layer Out { get; }
        }
        """, "'Spatial'", expected);

    [Fact]
    public void FN005_image_input_sizes_not_positive() => AssertSingle("FN005", """
        [Network]
        public partial class Net
        {
            [[|Input(1, 0, 28)|]] public partial Layer Image { get; }
            [Dense(2)] public partial Layer Out { get; }
        }
        """, "'Image'", "height = 0");

    [Fact]
    public void FN006_declared_inputs_disagree_with_a_flattened_map() => AssertSingle("FN006", """
        [Network]
        public partial class Net
        {
            [Input(1, 28, 28)] public partial Layer Image { get; }
            [Conv2D(16, 5)] public partial Layer Conv { get; }
            [AvgPool2D(4)] public partial Layer Pool { get; }
            [[|Dense(10, Inputs = 256)|]] public partial Layer Out { get; }
        }
        """, "'Out'", "Inputs = 256", "'Pool' has 576 values, (16, 6, 6) flattened");

    [Fact]
    public void FN012_image_too_large() => AssertSingle("FN012", """
        [Network]
        public partial class Net
        {
            [[|Input(3, 60000, 60000)|]] public partial Layer Image { get; }
            [Dense(2)] public partial Layer Out { get; }
        }
        """, "'Image'", "(3, 60000, 60000)", "10800000000 values");

    [Fact]
    public void Every_descriptor_has_a_test_and_a_section_in_the_docs()
    {
        string[] tested = typeof(DiagnosticTests).GetMethods()
            .Select(method => method.Name)
            .Where(name => name.StartsWith("FN", StringComparison.Ordinal))
            .Select(name => name[..5])
            .Distinct()
            .ToArray();
        string docs = File.ReadAllText(Path.Combine(TestPaths.RepositoryRoot, "docs", "diagnostics.md"));
        foreach (Microsoft.CodeAnalysis.DiagnosticDescriptor descriptor in FusedNets.Generators.Diagnostics.DiagnosticDescriptors.All)
        {
            Assert.Contains(descriptor.Id, tested);
            Assert.Contains("## " + descriptor.Id, docs, StringComparison.Ordinal);
            Assert.Equal(DiagnosticSeverity.Error, descriptor.DefaultSeverity);
        }
    }

    [Fact]
    public void A_valid_declaration_has_no_diagnostics_and_compiles()
    {
        GeneratorRun run = GeneratorHarness.Run(Prelude + """
            [Network(Loss = Loss.MeanSquaredError)]
            public partial class Net
            {
                [Input(4)] public partial Layer In { get; }
                [Dense(3, Activation.Tanh, Mask = nameof(Diagonal))] public partial Layer Hidden { get; }
                [Dense(1, Inputs = 3)] public partial Layer Out { get; }
                static bool Diagonal(int output, int input) => output == input;
            }
            """);
        Assert.Empty(run.Exceptions);
        Assert.Empty(run.FusedNetsDiagnostics);
        Assert.Empty(run.CompilerErrors);
    }

    [Fact]
    public void One_mistake_is_one_error_even_where_the_network_is_used()
    {
        // Inputs = 4 after an 8-unit layer once gave FN006 and, for want of generated code, CS9248 for every layer
        // and an error wherever the class was used.
        GeneratorRun run = GeneratorHarness.Run(Prelude + """
            [Network]
            public partial class Net
            {
                [Input(8)] public partial Layer In { get; }
                [Dense(8, Activation.Relu)] public partial Layer Hidden { get; }
                [Dense(2, Inputs = 4)] public partial Layer Out { get; }
            }

            public static class Use
            {
                public static float Run(Sgd sgd)
                {
                    using var network = new Net(seed: 1, Backend.Cpu);
                    Net.Output y = network.Predict(Net.Input.From(new float[Net.InputSize]));
                    network.Fit(FusedNets.Data.Dataset.ForClassification(new float[16], new int[2], featureCount: 8), sgd, epochs: 1);
                    using Net loaded = Net.Load("model.fnet");
                    return y[0] + network.TrainBatch(new float[8], new int[1], sgd) + network.Out.Units + Net.Definition.InputSize;
                }
            }
            """);

        Assert.Empty(run.Exceptions);
        Assert.Equal("FN006", Assert.Single(run.FusedNetsDiagnostics).Id);
        Assert.Empty(run.CompilerErrors);
    }

    [Fact]
    public void Arguments_that_do_not_bind_are_the_compilers_only_error()
    {
        // Code being typed: [Dense] without its units is CS7036, and the generator adds nothing to it.
        GeneratorRun run = GeneratorHarness.Run(Prelude + """
            [Network]
            public partial class Net
            {
                [Input(4)] public partial Layer In { get; }
                [Dense] public partial Layer Out { get; }
            }
            """);

        Assert.Empty(run.Exceptions);
        Assert.Empty(run.FusedNetsDiagnostics);
        Assert.Equal("CS7036", Assert.Single(run.CompilerErrors).Id);
    }

    private const string Prelude = "using FusedNets;\n\n";

    /// <summary>
    /// The generator reports exactly one FN diagnostic: <paramref name="id"/>, at the marked span, its message naming
    /// each part; and with the generated code the declaration compiles without any other error.
    /// </summary>
    private static void AssertSingle(string id, string markedSource, params string[] messageParts) =>
        AssertSingleBeside(id, markedSource, [], messageParts);

    /// <summary>The declaration gets no FN diagnostic, and with the generated code it compiles without any error.</summary>
    private static void AssertClean(string source)
    {
        GeneratorRun run = GeneratorHarness.Run(Prelude + source);

        Assert.Empty(run.Exceptions);
        Assert.Empty(run.FusedNetsDiagnostics);
        Assert.Empty(run.CompilerErrors);
    }

    /// <summary>
    /// As <see cref="AssertSingle"/>, for a declaration that also has compiler errors no generated code can take
    /// away: exactly <paramref name="unavoidableErrors"/> (IDs, in any order), each caller saying why.
    /// </summary>
    private static void AssertSingleBeside(string id, string markedSource, string[] unavoidableErrors, params string[] messageParts)
    {
        string marked = Prelude + markedSource;
        int start = marked.IndexOf("[|", StringComparison.Ordinal);
        int end = marked.IndexOf("|]", StringComparison.Ordinal) - 2;
        string source = marked.Replace("[|", "", StringComparison.Ordinal).Replace("|]", "", StringComparison.Ordinal);

        GeneratorRun run = GeneratorHarness.Run(source);

        Assert.Empty(run.Exceptions);
        Diagnostic diagnostic = Assert.Single(run.FusedNetsDiagnostics);
        Assert.Equal(id, diagnostic.Id);
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        Assert.Equal(TextSpan.FromBounds(start, end), diagnostic.Location.SourceSpan);
        string message = diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture);
        foreach (string part in messageParts)
        {
            Assert.Contains(part, message, StringComparison.Ordinal);
        }

        Assert.Equal(unavoidableErrors.Order(StringComparer.Ordinal), run.CompilerErrors.Select(error => error.Id).Order(StringComparer.Ordinal));
        Assert.Empty(run.DiagnosticsInGeneratedCode);
    }
}
