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
/// at random points and lose random tokens. Each declaration is its own file and namespace, and many share
/// one compilation and one generator run, so that the whole run stays within seconds.
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
