using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using FusedNets.Tests.Generator;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace FusedNets.Tests.Hardening;

/// <summary>
/// The generator never throws, never stays silent about a mistake, and never emits code that does not compile.
/// Thousands of declarations are drawn from a seeded grammar of [Network] classes (sizes 0, negative, huge and
/// int.MaxValue; missing and mistyped arguments; attributes on fields, methods and wrong properties; bad
/// masks, densities, losses and activations); the test knows which are valid. The valid ones are then cut short
/// at random points and lose random tokens. Another run gives every name a developer might choose (keywords,
/// Unicode, the names of generated and inherited members and of the library's types) to every part of a
/// declaration. Each declaration is its own file and namespace, and many share one compilation and one
/// generator run, so that thousands of declarations cost a few dozen compilations.
/// </summary>
public class GeneratorFuzzTests
{
    private const int Declarations = 1200, Mutants = 1200, PerCompilation = 150;

    private static readonly int[] Sizes = [1, 2, 3, 7, 10, 64, 0, -1, -5, int.MinValue, int.MaxValue, 65_536, 46_341, 1_073_741_823];

    private static readonly int[] SmallSizes = [1, 2, 3, 7, 10, 64, 300];

    private static readonly string[] Activations = ["Identity", "Relu", "LeakyRelu", "Tanh", "Sigmoid", "Gelu", "Softplus"];

    [Fact]
    public void Generated_declarations_are_diagnosed_exactly_when_invalid_and_compile_when_valid()
    {
        var random = new Random(20261127);
        var cases = new List<(string Body, bool Valid)>();
        for (int i = 0; i < Declarations; i++)
        {
            cases.Add(Declaration(random, $"Net{i}"));
        }

        Assert.InRange(cases.Count(c => c.Valid), Declarations / 5, Declarations * 4 / 5); // both kinds well represented
        RunAll(cases.Select(c => (c.Body, (bool?)c.Valid)).ToList());
    }

    [Fact]
    public void Truncated_and_token_deleted_declarations_never_crash_the_generator_nor_yield_broken_code()
    {
        var random = new Random(7);
        var cases = new List<(string Body, bool? Valid)>();
        while (cases.Count < Mutants)
        {
            (string body, bool valid) = Declaration(random, $"Net{cases.Count}");
            if (!valid)
            {
                continue;
            }

            cases.Add((random.Next(3) switch
            {
                0 => body[..random.Next(body.Length)],
                1 => DeleteTokens(body, random, count: 1),
                _ => DeleteTokens(body, random, count: 1 + random.Next(4)),
            }, null));
        }

        RunAll(cases);
    }

    /// <summary>
    /// Every name a C# developer might give a network, its namespace, its layers or its mask method: keywords
    /// written with '@', contextual keywords, Unicode letters, the name of every member a network is generated with
    /// or inherits, and the names of the library's public types and of the types its generated code uses. Each
    /// name takes each role in some declaration, beside other names drawn at random; each declaration is valid C#
    /// and either compiles with no error, or gets only the FN errors its names call for, at those names.
    /// </summary>
    [Fact]
    public void Declarations_with_any_names_compile_or_get_only_FN_errors_at_the_names()
    {
        string[] pool = [.. NamePool().Distinct(StringComparer.Ordinal)];
        Dictionary<Role, string[]> usable = UsableNames(pool);
        var random = new Random(16);
        Dictionary<Role, string[]> orders = usable.ToDictionary(pair => pair.Key, pair => pair.Value.OrderBy(_ => random.Next()).ToArray());
        int count = usable.Values.Max(names => names.Length);
        var cases = new List<NamedCase>();
        for (int i = 0; i < count; i++)
        {
            string Draw(Role role) => orders[role][i % orders[role].Length];
            cases.Add(NamedCase.Create(i, Draw(Role.Namespace), Draw(Role.Class), [Draw(Role.InputLayer), Draw(Role.HiddenLayer), Draw(Role.OutputLayer)], Draw(Role.MaskMethod), random));
        }

        foreach (Role role in Enum.GetValues<Role>())
        {
            Assert.True(usable[role].Length > pool.Length * 9 / 10, $"{role}: C# refuses {pool.Length - usable[role].Length} of {pool.Length} names");
        }

        for (int first = 0; first < cases.Count; first += PerCompilation)
        {
            List<NamedCase> chunk = cases.GetRange(first, Math.Min(PerCompilation, cases.Count - first));
            GeneratorRun run = GeneratorHarness.Run([.. chunk.Select(c => c.Source)]);
            Assert.Empty(run.Exceptions);
            Assert.Empty(run.DiagnosticsInGeneratedCode.Where(d => d.Severity >= DiagnosticSeverity.Warning));
            for (int i = 0; i < chunk.Count; i++)
            {
                NamedCase named = chunk[i];
                string path = $"Source{i}.cs";
                string what = $"case {first + i}:\n{named.Source}\n";
                string[] found = [.. run.FusedNetsDiagnostics
                    .Where(d => d.Location.GetLineSpan().Path == path)
                    .Select(d => d.Id + " at " + named.Source[d.Location.SourceSpan.Start..d.Location.SourceSpan.End])
                    .Order(StringComparer.Ordinal)];
                Assert.True(named.ExpectedDiagnostics.SequenceEqual(found), what + "expected: " + string.Join(", ", named.ExpectedDiagnostics) + "\nfound: " + string.Join(", ", found));
                Diagnostic[] errors = [.. run.CompilerErrors.Where(d => d.Location.GetLineSpan().Path == path)];
                Assert.True(errors.Length == 0, what + "compiler errors: " + string.Join("\n", errors.AsEnumerable()));
            }

            Assert.Equal(chunk.Count, run.Result.GeneratedTrees.Length);
        }
    }

    /// <summary>Where a name goes in a declaration.</summary>
    private enum Role
    {
        Namespace,
        Class,
        InputLayer,
        HiddenLayer,
        OutputLayer,
        MaskMethod,
    }

    private static IEnumerable<string> NamePool()
    {
        foreach (SyntaxKind keyword in SyntaxFacts.GetKeywordKinds())
        {
            yield return "@" + SyntaxFacts.GetText(keyword);
        }

        foreach (SyntaxKind keyword in SyntaxFacts.GetContextualKeywordKinds())
        {
            yield return SyntaxFacts.GetText(keyword);
            yield return "@" + SyntaxFacts.GetText(keyword);
        }

        // Letters of other scripts, a title-case letter, a letter number, a combining mark, a formatting
        // character, a Unicode escape, underscores.
        string[] unicode = ["Größe", "Σύνολο", "λ", "層", "Ñandú", "ǅemal", "Ⅻ", "e\u0301té", "Zero\u200DWidth", "\\u0041bc", "_", "__", "_1"];
        foreach (string name in unicode)
        {
            yield return name;
        }

        foreach (string name in ReservedNames.All)
        {
            yield return name;
        }

        foreach (Type type in typeof(Network).Assembly.GetExportedTypes())
        {
            yield return type.Name.Split('`')[0];
        }

        // Types the generated code uses, and the short names it once gave them.
        foreach (string name in new[] { "ArrayView", "Index1D", "Index2D", "KernelConfig", "Accelerator", "FloatView", "IntView", "System", "FusedNets", "ILGPU", "Math", "MathF" })
        {
            yield return name;
        }
    }

    /// <summary>
    /// For each role, the names C# itself accepts there (it refuses, say, a type named <c>file</c> or
    /// <c>required</c>, whatever the generator does), found by compiling each name in each role on its own.
    /// </summary>
    private static Dictionary<Role, string[]> UsableNames(string[] pool)
    {
        static string Probe(Role role, string name, int index) => role switch
        {
            Role.Namespace => $"namespace Probe{index}.{name} {{ public sealed class C; }}",
            Role.Class => $"namespace Probe{index} {{ public partial class {name} {{ }} }}",
            Role.MaskMethod => $"namespace Probe{index} {{ public static class C {{ public static bool {name}(int output, int input) => true; }} }}",
            _ => $"namespace Probe{index} {{ public partial class C {{ public partial global::FusedNets.Layer {name} {{ get; }} public partial global::FusedNets.Layer {name} => null!; }} }}",
        };

        Role[] roles = Enum.GetValues<Role>();
        string[] probes = [.. roles.SelectMany((role, r) => pool.Select((name, n) => Probe(role, name, r * pool.Length + n)))];
        HashSet<string> refused = [.. GeneratorHarness.Compile(probes).GetDiagnostics()
            .Where(d => d.Severity == DiagnosticSeverity.Error)
            .Select(d => d.Location.GetLineSpan().Path)];
        return roles.Select((role, r) => (role, names: pool.Where((name, n) => !refused.Contains($"Source{r * pool.Length + n}.cs")).ToArray()))
            .ToDictionary(pair => pair.role, pair => pair.names);
    }

    /// <summary>One declaration of the name fuzz, and the FN diagnostics its names call for ("FN020 at Input").</summary>
    private sealed record NamedCase(string Source, string[] ExpectedDiagnostics)
    {
        public static NamedCase Create(int index, string ns, string className, string[] layers, string maskMethod, Random random)
        {
            // Names are distinct within a declaration: a member named like its class, or two members of one name,
            // are the compiler's own errors.
            var taken = new HashSet<string>(StringComparer.Ordinal) { SymbolName(className) };
            string Unique(string name, string fallback) => taken.Add(SymbolName(name)) ? name : Unique(fallback, fallback + "_");
            layers = [.. layers.Select((name, l) => Unique(name, $"L{l}"))];
            maskMethod = Unique(maskMethod, "Keep");

            (string Name, bool IsMethod)[] generated = [.. ReservedNames.Generated];
            var expected = new List<string>();
            if (generated.Any(member => member.Name == SymbolName(className)))
            {
                expected.Add("FN021 at " + className);
            }

            if (SymbolName(className) == "unmanaged")
            {
                expected.Add("FN023 at " + className);
            }

            foreach (string layer in layers.Where(layer => ReservedNames.All.Contains(SymbolName(layer))))
            {
                expected.Add("FN020 at " + layer);
            }

            if (generated.Any(member => member.Name == SymbolName(maskMethod) && !member.IsMethod))
            {
                expected.Add("FN022 at " + maskMethod);
            }

            bool regression = random.Next(2) == 0;
            string activation = Pick(random, Activations);
            string source = $$"""
                namespace Fuzz{{index}}.{{ns}};

                [global::FusedNets.Network{{(regression ? "(Loss = global::FusedNets.Loss.MeanSquaredError)" : "")}}]
                public partial class {{className}}
                {
                    [global::FusedNets.Input({{1 + random.Next(6)}})] public partial global::FusedNets.Layer {{layers[0]}} { get; }
                    [global::FusedNets.Dense({{1 + random.Next(6)}}, global::FusedNets.Activation.{{activation}}, Mask = "{{SymbolName(maskMethod)}}")] public partial global::FusedNets.Layer {{layers[1]}} { get; }
                    [global::FusedNets.Dense({{2 + random.Next(3)}})] public partial global::FusedNets.Layer {{layers[2]}} { get; }
                    private static bool {{maskMethod}}(int output, int input) => output >= input;
                }
                """;
            return new NamedCase(source, [.. expected.Order(StringComparer.Ordinal)]);
        }

        /// <summary>The name as the symbol has it: without its '@', Unicode escapes decoded.</summary>
        private static string SymbolName(string written) => SyntaxFactory.ParseToken(written).ValueText;
    }

    [Fact]
    public void A_layer_declared_without_an_accessibility_modifier_is_implemented_without_one()
    {
        // Found by the token deletions above: the implementation said "private", which C# refuses (CS8799)
        // when the declaration says nothing.
        GeneratorRun run = GeneratorHarness.Run("""
            using FusedNets;
            namespace Quiet;

            [Network]
            public partial class Net
            {
                [Input(4)] partial Layer In { get; }
                [Dense(3)] internal partial Layer Out { get; }
            }
            """);

        Assert.Empty(run.Exceptions);
        Assert.Empty(run.FusedNetsDiagnostics);
        Assert.Empty(run.CompilerErrors);
        string generated = run.GeneratedSource("Quiet.Net.g.cs");
        Assert.Contains("\n    partial global::FusedNets.Layer In => base.Layers[0];", generated, StringComparison.Ordinal);
        Assert.Contains("\n    internal partial global::FusedNets.Layer Out => base.Layers[1];", generated, StringComparison.Ordinal);
    }

    /// <summary>
    /// Runs the generator over every case, <see cref="PerCompilation"/> files at a time. Asserts: no generator
    /// exception; a case known invalid has an error in its file; a case known valid has none, in its file or in
    /// the code generated for it, and was generated; any other case without errors of its own compiles cleanly.
    /// </summary>
    private static void RunAll(List<(string Body, bool? Valid)> cases)
    {
        for (int first = 0; first < cases.Count; first += PerCompilation)
        {
            List<(string Body, bool? Valid)> chunk = cases.GetRange(first, Math.Min(PerCompilation, cases.Count - first));
            string[] sources = [.. chunk.Select((c, i) => Header(first + i) + c.Body)];
            GeneratorRun run = GeneratorHarness.Run(sources);

            Assert.Empty(run.Exceptions);
            Assert.DoesNotContain(run.GeneratorDiagnostics, d => d.Id == "CS8785");
            ImmutableArray<Diagnostic> errors = [.. run.GeneratorDiagnostics.Concat(run.Output.GetDiagnostics()).Where(d => d.Severity == DiagnosticSeverity.Error)];
            var generated = run.Result.GeneratedTrees.Select(tree => tree.FilePath).ToArray();
            for (int i = 0; i < chunk.Count; i++)
            {
                int index = first + i;
                string source = $"Source{i}.cs", ns = $"Fuzz{index}.";
                // FN diagnostics carry a file path but no syntax tree: match every diagnostic by its path.
                Diagnostic[] own = [.. errors.Where(d => d.Location.GetLineSpan().Path == source)];
                Diagnostic[] inGenerated = [.. errors.Where(d => d.Location.GetLineSpan().Path.Contains(ns, StringComparison.Ordinal))];
                string what = $"case {index}:\n{sources[i]}\n";
                switch (chunk[i].Valid)
                {
                    case true:
                        Assert.True(own.Length == 0 && inGenerated.Length == 0, what + "errors: " + string.Join("\n", own.Concat(inGenerated)));
                        Assert.True(generated.Any(path => path.Contains(ns, StringComparison.Ordinal)), what + "nothing was generated");
                        break;
                    case false:
                        Assert.True(own.Length > 0, what + "no FN diagnostic or compiler error" + (inGenerated.Length > 0 ? ", but the generated code fails: " + inGenerated[0] : ""));
                        break;
                    default:
                        Assert.True(own.Length > 0 || inGenerated.Length == 0, what + "the declaration is accepted but its generated code fails: " + string.Join("\n", inGenerated));
                        break;
                }
            }

            Assert.DoesNotContain(errors, d => !d.Location.GetLineSpan().IsValid);
        }
    }

    /// <summary>Each case in a namespace of its own, so that cases in one compilation cannot clash.</summary>
    private static string Header(int index) => $"using FusedNets;\nnamespace Fuzz{index};\n\n";

    /// <summary>
    /// A random declaration, and whether the generator must accept it. Half are written carefully (every
    /// choice a valid one, but sizes still random), so that valid declarations are common.
    /// </summary>
    private static (string Body, bool Valid) Declaration(Random random, string name)
    {
        var code = new StringBuilder();
        bool valid = true;
        bool careful = random.Next(2) == 0;

        // One in `odds` choices is a mistake, unless the declaration is written carefully.
        bool Mistake(int odds) => !careful && random.Next(odds) == 0;

        bool regression = random.Next(3) == 0;
        switch (Mistake(12) ? 0 : 1 + random.Next(11))
        {
            case 0:
                code.AppendLine("[Network(Loss = (Loss)7)]");
                valid = false;
                break;
            case 1:
                code.AppendLine("[Network(Loss = Loss.MeanSquaredError)]");
                regression = true;
                break;
            default:
                code.AppendLine(regression ? "[Network(Loss = Loss.MeanSquaredError)]" : "[Network]");
                break;
        }

        (string classLine, bool plainClass) = (Mistake(3) ? random.Next(5) : 5) switch
        {
            0 => ($"public class {name}", false),
            1 => ($"public static partial class {name}", false),
            2 => ($"public abstract partial class {name}", false),
            3 => ($"public partial class {name}<T>", false),
            4 => ($"public partial class {name} : System.Collections.ArrayList", false),
            _ => ($"public partial class {name}", true),
        };
        valid &= plainClass;
        code.AppendLine(classLine).AppendLine("{");

        int layerCount = careful ? 2 + random.Next(4) : random.Next(6);
        int inputs = 0, denseLayers = 0, previousUnits = 0;
        long parameters = 0;
        bool seenLayer = false;
        string mask = random.Next(4) switch
        {
            0 => "    public static bool Keep(int output, int input) => (output + input) % 2 == 0;",
            1 => "    public static int Keep(int output) => output;",
            _ => "",
        };
        for (int l = 0; l < layerCount; l++)
        {
            bool input = l == 0 ? !Mistake(8) : Mistake(10);
            string member = $"L{l}";
            (string declaration, bool wellFormed) = (Mistake(4) ? random.Next(5) : 5) switch
            {
                0 => ($"public global::FusedNets.Layer {member};", false),
                1 => ($"public global::FusedNets.Layer {member}() => null!;", false),
                2 => ($"public partial global::FusedNets.Layer {member} {{ get; set; }}", false),
                3 => ($"public global::FusedNets.Layer {member} {{ get; }} = null!;", false),
                4 => ($"public partial int {member} {{ get; }}", false),
                _ => ($"public partial global::FusedNets.Layer {member} {{ get; }}", true),
            };
            valid &= wellFormed;

            string attribute;
            if (input)
            {
                int size = careful ? Pick(random, SmallSizes) : Pick(random, Sizes);
                (attribute, bool bound) = (Mistake(12) ? random.Next(2) : 2) switch
                {
                    0 => ("Input", false),
                    1 => ("Input(\"wide\")", false),
                    _ => (Invariant($"Input({size})"), true),
                };
                valid &= bound && size > 0 && inputs == 0 && !seenLayer;
                inputs++;
                previousUnits = size;
            }
            else
            {
                int units = careful ? Pick(random, SmallSizes) : Pick(random, Sizes);
                var arguments = new List<string>();
                bool bound = true;
                switch (Mistake(12) ? random.Next(2) : 2)
                {
                    case 0:
                        bound = false; // no units
                        break;
                    case 1:
                        arguments.Add("Activation.Relu");
                        bound = false;
                        break;
                    default:
                        arguments.Add(Invariant($"{units}"));
                        break;
                }

                switch (Mistake(8) ? 0 : 1 + random.Next(7))
                {
                    case 0:
                        arguments.Add("(Activation)42");
                        valid = false;
                        break;
                    case 1 or 2 or 3:
                        arguments.Add("Activation." + Pick(random, Activations));
                        break;
                }

                if (random.Next(5) == 0)
                {
                    int declared = !Mistake(2) ? previousUnits : Pick(random, Sizes);
                    arguments.Add(Invariant($"Inputs = {declared}"));
                    valid &= declared == previousUnits;
                }

                double density = 1.0;
                if (random.Next(6) == 0)
                {
                    density = Mistake(2) ? Pick(random, [0.0, -0.25, 1.5]) : Pick(random, [0.5, 1.0, 0.001]);
                    arguments.Add(Invariant($"Density = {density}"));
                    valid &= density > 0 && density <= 1;
                }

                if (random.Next(8) == 0 && (!careful || (mask.Contains("static bool", StringComparison.Ordinal) && density == 1.0)))
                {
                    arguments.Add("Mask = \"Keep\"");
                    valid &= mask.Contains("static bool", StringComparison.Ordinal) && density == 1.0;
                }

                attribute = arguments.Count == 0 && random.Next(2) == 0 ? "Dense" : $"Dense({string.Join(", ", arguments)})";
                valid &= bound && units > 0 && previousUnits > 0;
                if (previousUnits > 0 && units > 0)
                {
                    parameters += (long)units * previousUnits + units;
                }

                denseLayers++;
                previousUnits = units;
            }

            seenLayer = true;
            code.AppendLine($"    [{attribute}] {declaration}");
        }

        valid &= inputs == 1 && denseLayers > 0 && parameters <= int.MaxValue && (regression || previousUnits >= 2);
        code.AppendLine(mask).AppendLine("}");
        return (code.ToString(), valid);
    }

    /// <summary>The source with <paramref name="count"/> random tokens removed (their trivia kept, so words do not merge).</summary>
    private static string DeleteTokens(string body, Random random, int count)
    {
        for (int c = 0; c < count; c++)
        {
            SyntaxToken[] tokens = [.. CSharpSyntaxTree.ParseText(body).GetRoot().DescendantTokens().Where(token => token.Span.Length > 0)];
            if (tokens.Length == 0)
            {
                break;
            }

            SyntaxToken victim = tokens[random.Next(tokens.Length)];
            body = body[..victim.SpanStart] + " " + body[victim.Span.End..];
        }

        return body;
    }

    private static T Pick<T>(Random random, T[] values) => values[random.Next(values.Length)];

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
