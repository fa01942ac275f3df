using Microsoft.CodeAnalysis;

namespace FusedNets.Tests.Generator;

/// <summary>
/// Whatever a declaration's names, its generated half compiles, or the declaration gets an FN error that names the
/// clash and nothing else: names are written back as C# spells them, and every name the generated half needs is
/// checked. No diagnostic is ever located in generated code.
/// </summary>
public class IdentifierTests
{
    [Fact]
    public void Names_written_with_at_are_emitted_with_it()
    {
        // A layer named @class once came out as "partial global::FusedNets.Layer class => ...": CS1003 and CS1001 in Net.g.cs.
        GeneratorRun run = AssertCompiles("""
            using FusedNets;
            namespace @namespace.@event;

            [Network]
            public partial class @class
            {
                [Input(4)] public partial Layer @in { get; }
                [Dense(3, Mask = nameof(@static))] public partial Layer @out { get; }
                [Dense(2)] public partial Layer @params { get; }
                private static bool @static(int output, int input) => output != input;
            }
            """);

        string generated = run.GeneratedSource("namespace.event.class.g.cs");
        Assert.Contains("namespace @namespace.@event;", generated, StringComparison.Ordinal);
        Assert.Contains("partial class @class : global::FusedNets.Network", generated, StringComparison.Ordinal);
        Assert.Contains("public partial global::FusedNets.Layer @in => base.Layers[0];", generated, StringComparison.Ordinal);
        Assert.Contains("global::FusedNets.LayerMask.FromFunction(\"static\", @static)", generated, StringComparison.Ordinal);
        // At run time a layer has the name its symbol has, as nameof(@out) gives it: "out".
        Assert.Contains("new global::FusedNets.DenseLayerArchitecture(\"out\",", generated, StringComparison.Ordinal);
    }

    [Fact]
    public void Contextual_keywords_and_unicode_letters_are_names_like_any_other()
    {
        GeneratorRun run = AssertCompiles("""
            using FusedNets;
            namespace Ünicode.Σύνολα;

            [Network]
            public partial class Réseau
            {
                [Input(4)] public partial Layer Eingangsgröße { get; }
                [Dense(3)] public partial Layer nameof { get; }
                [Dense(3)] public partial Layer var { get; }
                [Dense(3)] public partial Layer \u0041bc { get; }
                [Dense(2)] public partial Layer 層 { get; }
            }
            """);

        string generated = run.GeneratedSource("Ünicode.Σύνολα.Réseau.g.cs");
        Assert.Contains("public partial global::FusedNets.Layer Abc => base.Layers[3];", generated, StringComparison.Ordinal);
        Assert.Contains("public partial global::FusedNets.Layer 層 => base.Layers[4];", generated, StringComparison.Ordinal);
    }

    [Fact]
    public void Layers_whose_names_differ_only_in_the_case_of_their_first_letter_compile()
    {
        // Their kernels' fields were both called _xForward.
        AssertCompiles("""
            using FusedNets;
            namespace Cases;

            [Network]
            public partial class Net
            {
                [Input(4)] public partial Layer In { get; }
                [Dense(3)] public partial Layer X { get; }
                [Dense(2)] public partial Layer x { get; }
            }
            """);
    }

    [Theory]
    [InlineData("SgdStep")]
    [InlineData("FloatView")]
    [InlineData("IntView")]
    [InlineData("Index1D")]
    [InlineData("KernelConfig")]
    [InlineData("ArrayView")]
    [InlineData("Network")]
    [InlineData("Backend")]
    [InlineData("Activations")]
    public void A_network_or_a_type_beside_it_may_have_the_name_of_a_type_the_generated_code_uses(string name)
    {
        // Generated code once named its kernels' types by aliases (FloatView, SgdStep, ...), which a type of the
        // user's namespace took the place of.
        AssertCompiles($$"""
            using FusedNets;
            namespace Named;

            [Network]
            public partial class {{name}}
            {
                [Input(4)] public partial Layer In { get; }
                [Dense(2)] public partial Layer Out { get; }
            }
            """);
        AssertCompiles($$"""
            using FusedNets;
            namespace Beside;

            public sealed class {{name}};

            [Network]
            public partial class Net
            {
                [Input(4)] public partial Layer In { get; }
                [Dense(2)] public partial Layer Out { get; }
            }
            """);
    }

    [Fact]
    public void Networks_whose_names_differ_only_in_case_are_each_generated()
    {
        // Both wanted the file name Cases.Net.g.cs, which Roslyn compares ignoring case: the generator threw.
        GeneratorRun run = AssertCompiles(
            Declaration("Cases", "Net"),
            Declaration("Cases", "NET"),
            Declaration("cases", "Net"));

        Assert.Equal(
            ["Cases.NET.g.cs", "Cases.Net.2.g.cs", "cases.Net.3.g.cs"],
            run.Result.Results.Single().GeneratedSources.Select(source => source.HintName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_network_attributed_on_two_of_its_parts_is_generated_once()
    {
        // The attribute twice is the compiler's CS0579; the generator emitted the class twice and threw.
        GeneratorRun run = GeneratorHarness.Run("""
            using FusedNets;
            namespace Twice;

            [Network]
            public partial class Net
            {
                [Input(4)] public partial Layer In { get; }
            }

            [Network]
            public partial class Net
            {
                [Dense(2)] public partial Layer Out { get; }
            }
            """);

        Assert.Empty(run.Exceptions);
        Assert.Empty(run.FusedNetsDiagnostics);
        Assert.Equal("CS0579", Assert.Single(run.CompilerErrors).Id);
    }

    [Fact]
    public void The_modifiers_of_a_layer_are_repeated_in_its_implementation()
    {
        // C# requires virtual (and new, sealed, ...) on both parts of a partial property (CS8800).
        GeneratorRun run = AssertCompiles("""
            using FusedNets;
            namespace Modifiers;

            [Network]
            public partial class Net
            {
                [Input(4)] protected internal partial Layer In { get; }
                [Dense(3)] private protected partial Layer Hidden { get; }
                [Dense(2)] public virtual partial Layer Out { get; }
            }
            """);

        Assert.Contains("public virtual partial global::FusedNets.Layer Out => base.Layers[2];", run.GeneratedSource("Modifiers.Net.g.cs"), StringComparison.Ordinal);
    }

    public static TheoryData<string> ReservedLayerNames => [.. ReservedNames.All];

    public static TheoryData<string> GeneratedNames => [.. ReservedNames.Generated.Select(member => member.Name)];

    public static TheoryData<string> GeneratedMethodNames => [.. ReservedNames.Generated.Where(member => member.IsMethod).Select(member => member.Name)];

    [Theory]
    [MemberData(nameof(ReservedLayerNames))]
    public void A_layer_named_like_a_member_of_every_network_is_refused_at_its_name(string name)
    {
        // A layer named Input or Layers gave CS0102 and CS0021 in the generated file.
        AssertOnlyAtMarked("FN020", $$"""
            [Network]
            public partial class Net
            {
                [Input(4)] public partial Layer In { get; }
                [Dense(2)] public partial Layer [|{{name}}|] { get; }
            }
            """, $"'{name}'", $"'{name}Layer'");
    }

    [Theory]
    [MemberData(nameof(GeneratedNames))]
    public void A_network_named_like_a_member_generated_in_it_is_refused_at_its_name(string name) =>
        AssertOnlyAtMarked("FN021", $$"""
            [Network]
            public partial class [|{{name}}|]
            {
                [Input(4)] public partial Layer In { get; }
                [Dense(2)] public partial Layer Out { get; }
            }
            """, $"'{name}'", $"'{name}Network'");

    [Theory]
    [MemberData(nameof(GeneratedNames))]
    public void A_field_named_like_a_generated_member_is_refused_at_its_name(string name) =>
        AssertOnlyAtMarked("FN022", $$"""
            [Network]
            public partial class Net
            {
                [Input(4)] public partial Layer In { get; }
                [Dense(2)] public partial Layer Out { get; }
                private static readonly int [|{{name}}|] = 0;
            }
            """, $"'{name}'");

    [Theory]
    [MemberData(nameof(GeneratedMethodNames))]
    public void A_method_may_overload_a_generated_method(string name)
    {
        GeneratorRun run = AssertCompiles($$"""
            using FusedNets;
            namespace Overloads;

            [Network]
            public partial class Net
            {
                [Input(4)] public partial Layer In { get; }
                [Dense(2, Mask = nameof({{name}}))] public partial Layer Out { get; }
                public static bool {{name}}(int output, int input) => output <= input;
            }
            """);
        Assert.Contains($"FromFunction(\"{name}\", {name})", run.GeneratedSource("Overloads.Net.g.cs"), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_reserved_name_is_listed_in_the_docs()
    {
        string docs = File.ReadAllText(Path.Combine(TestPaths.RepositoryRoot, "docs", "diagnostics.md"));
        string reserved = docs[docs.IndexOf("## Reserved names", StringComparison.Ordinal)..];
        foreach (string name in ReservedNames.All)
        {
            Assert.Contains($"`{name}`", reserved, StringComparison.Ordinal);
        }
    }

    public static TheoryData<string> DeclarationsThatWork => new()
    {
        // A block-scoped namespace, and namespaces named like the ones generated code starts from global::.
        "namespace Blocks { [Network] public partial class Net { [Input(4)] public partial Layer In { get; } [Dense(2)] public partial Layer Out { get; } } }",
        "namespace System; [Network] public partial class Classifier { [Input(4)] public partial Layer In { get; } [Dense(2)] public partial Layer Out { get; } }",
        "namespace FusedNets; [Network] public partial class Classifier { [Input(4)] public partial Layer In { get; } [Dense(2)] public partial Layer Out { get; } }",
        "namespace System.FusedNets.ILGPU; [Network] public partial class Classifier { [Input(4)] public partial Layer In { get; } [Dense(2)] public partial Layer Out { get; } }",
        // The global namespace.
        "[Network] public partial class GlobalNet { [Input(4)] public partial Layer In { get; } [Dense(2)] public partial Layer Out { get; } }",
        // Attribute aliases and full attribute names.
        "namespace Aliases; using D = FusedNets.DenseAttribute; using N = FusedNets.NetworkAttribute; [N] public partial class Net { [Input(4)] public partial Layer In { get; } [D(2)] public partial Layer Out { get; } }",
        "namespace Suffixes; [NetworkAttribute(Loss = Loss.MeanSquaredError)] public partial class Net { [InputAttribute(4)] public partial Layer In { get; } [FusedNets.DenseAttribute(1)] public partial Layer Out { get; } }",
        // Named arguments, in any order, and constants.
        "namespace Named; [Network] public partial class Net { const int Width = 3; [Input(size: Width + 1)] public partial Layer In { get; } [Dense(activation: Activation.Relu, units: Width, Inputs = Width + 1)] public partial Layer Hidden { get; } [Dense(Sizes.Classes, MaskSeed = Sizes.Seed, Density = 0.5)] public partial Layer Out { get; } } static class Sizes { public const int Classes = 2, Seed = 7; }",
        // Overloaded mask methods: the one with the mask's signature is taken.
        "namespace Masks; [Network] public partial class Net { [Input(4)] public partial Layer In { get; } [Dense(2, Mask = nameof(Keep))] public partial Layer Out { get; } static bool Keep(int output) => true; static bool Keep(int output, int input) => output != input; static bool Keep(long output, int input) => false; }",
        // Other members, nested types and interfaces on the class.
        "namespace Members; [Network] public partial class Net : System.IComparable<Net> { [Input(4)] public partial Layer In { get; } [Dense(2)] public partial Layer Out { get; } public int CompareTo(Net? other) => 0; public override string ToString() => \"Net\"; public event System.Action? Trained; private readonly int _count; public static Net Create() => new(seed: 1); public sealed class Options; }",
    };

    [Theory]
    [MemberData(nameof(DeclarationsThatWork))]
    public void Declarations_that_compiled_before_still_compile(string declaration) => AssertCompiles("using FusedNets;\n" + declaration);

    [Fact]
    public void Networks_of_the_same_name_in_different_namespaces_compile_together() =>
        AssertCompiles(Declaration("First", "Net"), Declaration("Second", "Net"), Declaration("First.Second", "Net"));

    private static string Declaration(string ns, string name) => $$"""
        using FusedNets;
        namespace {{ns}};

        [Network]
        public partial class {{name}}
        {
            [Input(4)] public partial Layer In { get; }
            [Dense(2)] public partial Layer Out { get; }
        }
        """;

    /// <summary>The sources compile with their generated code: no FN diagnostic, no error, nothing at all in generated code.</summary>
    private static GeneratorRun AssertCompiles(params string[] sources)
    {
        GeneratorRun run = GeneratorHarness.Run(sources);
        Assert.Empty(run.Exceptions);
        Assert.Empty(run.FusedNetsDiagnostics);
        Assert.Empty(run.CompilerErrors);
        Assert.Empty(run.DiagnosticsInGeneratedCode);
        Assert.Equal(sources.Length, run.Result.GeneratedTrees.Length);
        return run;
    }

    /// <summary>
    /// Exactly one diagnostic in all, <paramref name="id"/> at the span marked [| |], its message naming each part:
    /// no compiler error anywhere, and nothing in generated code.
    /// </summary>
    private static void AssertOnlyAtMarked(string id, string markedSource, params string[] messageParts)
    {
        string marked = "using FusedNets;\nnamespace Clash;\n\n" + markedSource;
        int start = marked.IndexOf("[|", StringComparison.Ordinal);
        int end = marked.IndexOf("|]", StringComparison.Ordinal) - 2;
        GeneratorRun run = GeneratorHarness.Run(marked.Replace("[|", "", StringComparison.Ordinal).Replace("|]", "", StringComparison.Ordinal));

        Assert.Empty(run.Exceptions);
        Diagnostic diagnostic = Assert.Single(run.FusedNetsDiagnostics);
        Assert.Equal(id, diagnostic.Id);
        Assert.Equal(start, diagnostic.Location.SourceSpan.Start);
        Assert.Equal(end, diagnostic.Location.SourceSpan.End);
        string message = diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture);
        Assert.All(messageParts, part => Assert.Contains(part, message, StringComparison.Ordinal));
        Assert.Empty(run.CompilerErrors);
        Assert.Empty(run.DiagnosticsInGeneratedCode);
    }
}
