namespace FusedNets.Tests.Generator;

/// <summary><c>[Input(..., Standardize = true)]</c> reaches the runtime's architecture; without it nothing changes.</summary>
public class StandardizeTests
{
    [Theory]
    [InlineData("[Input(30, Standardize = true)]", true, "standardized per feature")]
    [InlineData("[Input(3, 8, 8, Standardize = true)]", true, "standardized per channel")]
    [InlineData("[Input(30, Standardize = false)]", false, null)]
    [InlineData("[Input(30)]", false, null)]
    public void The_named_argument_is_emitted_into_the_architecture(string input, bool standardizes, string? documentation)
    {
        GeneratorRun run = GeneratorHarness.Run($$"""
            using FusedNets;

            [Network]
            public partial class Net
            {
                {{input}} public partial Layer Features { get; }
                [Dense(2)] public partial Layer Logits { get; }
            }
            """);

        Assert.Empty(run.FusedNetsDiagnostics);
        Assert.Empty(run.CompilerErrors);
        string generated = run.GeneratedSource("Net.g.cs");
        Assert.Equal(standardizes, generated.Contains(")) { StandardizesInput = true },", StringComparison.Ordinal));
        if (documentation is not null)
        {
            Assert.Contains($"/// <summary>The input: ", generated, StringComparison.Ordinal);
            Assert.Contains(documentation, generated, StringComparison.Ordinal);
        }
        else
        {
            Assert.DoesNotContain("standardized", generated, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_declared_network_tells_the_runtime_it_standardizes()
    {
        Assert.True(Training.StandardizedClassifier.Definition.StandardizesInput);
        Assert.True(Training.StandardizedImageRegressor.Definition.StandardizesInput);
        Assert.False(Training.PlainClassifier.Definition.StandardizesInput);
    }
}
