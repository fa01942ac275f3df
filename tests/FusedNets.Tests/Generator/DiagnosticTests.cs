using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace FusedNets.Tests.Generator;

/// <summary>
/// Every mistake in a declaration is a compile error with its own ID at the offending attribute or member.
/// In each source below, [| and |] mark where the error must point (inside an attribute list, the attribute itself).
/// </summary>
public class DiagnosticTests
{
    [Fact]
    public void FN001_class_not_partial() => AssertSingle("FN001", """
        [Network]
        public class [|Net|]
        {
            [Input(4)] public partial Layer In { get; }
            [Dense(2)] public partial Layer Out { get; }
        }
        """, "'Net'");

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
            [Dense(3)][[|Dense(3)|]] public partial Layer Twice { get; }
            [Dense(2)] public partial Layer Out { get; }
        }
        """, "'Twice'");

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

    private const string Prelude = "using FusedNets;\n\n";

    /// <summary>The generator reports exactly one FN diagnostic: <paramref name="id"/>, at the marked span, its message naming each part.</summary>
    private static void AssertSingle(string id, string markedSource, params string[] messageParts)
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
    }
}
