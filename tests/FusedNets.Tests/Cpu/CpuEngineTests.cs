using System.Collections.Immutable;
using FusedNets.Backends.Cpu;
using FusedNets.Reference;
using FusedNets.Tests.Reference;
using Xunit;

namespace FusedNets.Tests.Cpu;

/// <summary>The CPU engine against the double-precision reference: every entry point, activation, loss and width.</summary>
public class CpuEngineTests
{
    // Float against double, through a few layers of random [-1, 1) parameters.
    private const double Tolerance = 2e-5;

    private static readonly SgdStep PlainSgd = new Sgd(0.1f).ToStep();

    public static TheoryData<Activation, Loss> EveryActivationWithEveryLoss() => TestArchitectures.EveryActivationWithEveryLoss();

    public static TheoryData<string, Loss> EveryMaskWithEveryLoss() => TestArchitectures.EveryMaskWithEveryLoss();

    public static TheoryData<string> EveryEngineSetup() => [.. Setups.Keys];

    /// <summary>Every vector width, on one thread and on three (more than the machine may have, to split even tiny layers).</summary>
    internal static readonly ImmutableDictionary<string, CpuEngineOptions> Setups = new Dictionary<string, CpuEngineOptions>
    {
        ["Avx512, 1 thread"] = new() { Width = VectorWidth.Vector512, Threads = 1 },
        ["Avx512, 3 threads"] = new() { Width = VectorWidth.Vector512, Threads = 3, ParallelFlops = 0 },
        ["Avx2, 3 threads"] = new() { Width = VectorWidth.Vector256, Threads = 3, ParallelFlops = 0 },
        ["Vector128, 3 threads"] = new() { Width = VectorWidth.Vector128, Threads = 3, ParallelFlops = 0 },
        ["Scalar, 2 threads"] = new() { Width = VectorWidth.Scalar, Threads = 2, ParallelFlops = 0 },
    }.ToImmutableDictionary();

    [Theory]
    [MemberData(nameof(EveryActivationWithEveryLoss))]
    public void Predict_matches_the_reference_for_every_activation_and_loss(Activation activation, Loss loss)
    {
        NetworkArchitecture architecture = TestArchitectures.Mlp(activation, loss, output: activation);
        foreach (int batch in new[] { 1, 2, 17 })
        {
            AssertPredictMatches(architecture, Setups["Avx512, 3 threads"], batch);
        }
    }

    [Theory]
    [MemberData(nameof(EveryEngineSetup))]
    public void Predict_matches_the_reference_on_odd_sizes_at_every_width(string setup)
    {
        foreach (int batch in new[] { 1, 3, 16, 33 })
        {
            AssertPredictMatches(OddSizes(Activation.Gelu, Loss.SoftmaxCrossEntropy), Setups[setup], batch);
            AssertPredictMatches(FiveSevenThree(Activation.Relu), Setups[setup], batch);
        }
    }

    [Theory]
    [MemberData(nameof(EveryActivationWithEveryLoss))]
    public void Training_steps_match_the_reference_for_every_activation_and_loss(Activation activation, Loss loss)
    {
        NetworkArchitecture architecture = TestArchitectures.Mlp(activation, loss, output: activation == Activation.Relu ? Activation.Identity : activation);
        AssertTrainingMatches(architecture, Setups["Avx512, 3 threads"], new Sgd(0.05f, momentum: 0.9f).ToStep(), batch: 9, steps: 4);
    }

    [Theory]
    [MemberData(nameof(EveryEngineSetup))]
    public void Training_steps_with_momentum_nesterov_and_weight_decay_match_the_reference_on_odd_sizes(string setup)
    {
        var sgds = new[]
        {
            PlainSgd,
            new Sgd(0.05f, momentum: 0.9f).ToStep(),
            new Sgd(0.05f, momentum: 0.8f, nesterov: true, weightDecay: 0.01f).ToStep(),
        };
        foreach (SgdStep sgd in sgds)
        {
            AssertTrainingMatches(OddSizes(Activation.Tanh, Loss.SoftmaxCrossEntropy), Setups[setup], sgd, batch: 7, steps: 3);
            AssertTrainingMatches(OddSizes(Activation.LeakyRelu, Loss.MeanSquaredError), Setups[setup], sgd, batch: 1, steps: 3);
            AssertTrainingMatches(FiveSevenThree(Activation.Sigmoid), Setups[setup], sgd, batch: 33, steps: 3);
        }
    }

    [Theory]
    [MemberData(nameof(EveryMaskWithEveryLoss))]
    public void Masked_layers_train_like_the_reference_and_masked_weights_stay_exactly_zero(string mask, Loss loss)
    {
        NetworkArchitecture architecture = TestArchitectures.Masked(mask, loss);
        float[] parameters = AssertTrainingMatches(architecture, Setups["Avx512, 3 threads"], new Sgd(0.1f, momentum: 0.9f, weightDecay: 0.01f).ToStep(), batch: 6, steps: 4);
        AssertMaskedWeightsAreZero(architecture, parameters);
    }

    [Theory]
    [MemberData(nameof(EveryEngineSetup))]
    public void Sparse_masked_layers_train_and_predict_like_the_reference_and_stay_exactly_masked(string setup)
    {
        var architecture = new NetworkArchitecture("Sparse", Loss.SoftmaxCrossEntropy, "X", 40,
        [
            new DenseLayerArchitecture("Sparse", 50, 40, Activation.Relu, LayerMask.Random(0.1, 7)),
            new DenseLayerArchitecture("SparseToo", 37, 50, Activation.Sigmoid, LayerMask.FromFunction("Diagonal", (o, i) => (o + 3 * i) % 9 == 0)),
            new DenseLayerArchitecture("Output", 6, 37, Activation.Identity, LayerMask.FromFunction("Even", (o, i) => (o + i) % 2 == 0)),
        ]);
        float[] parameters = AssertTrainingMatches(architecture, Setups[setup], new Sgd(0.1f, momentum: 0.5f, weightDecay: 0.1f).ToStep(), batch: 20, steps: 3);
        AssertMaskedWeightsAreZero(architecture, parameters);
        AssertPredictMatches(architecture, Setups[setup], 1);
        AssertPredictMatches(architecture, Setups[setup], 70);
        AssertInputGradientMatches(architecture, Setups[setup], 3);
    }

    [Theory]
    [MemberData(nameof(EveryActivationWithEveryLoss))]
    public void Input_gradient_matches_the_reference_and_leaves_parameters_unchanged(Activation activation, Loss loss)
    {
        NetworkArchitecture architecture = TestArchitectures.Mlp(activation, loss, output: Activation.Tanh);
        foreach (int batch in new[] { 1, 5 })
        {
            AssertInputGradientMatches(architecture, Setups["Avx512, 3 threads"], batch);
        }
    }

    [Theory]
    [MemberData(nameof(EveryEngineSetup))]
    public void Input_gradient_matches_the_reference_on_odd_sizes(string setup)
    {
        AssertInputGradientMatches(OddSizes(Activation.Softplus, Loss.MeanSquaredError), Setups[setup], size: 19);
        AssertInputGradientMatches(FiveSevenThree(Activation.Identity), Setups[setup], size: 2);
    }

    [Theory]
    [MemberData(nameof(EveryEngineSetup))]
    public void Evaluate_returns_the_references_outputs_and_per_sample_losses(string setup)
    {
        foreach (Loss loss in TestArchitectures.EveryLoss)
        {
            NetworkArchitecture architecture = OddSizes(Activation.Sigmoid, loss);
            ReferenceNetwork reference = TestArchitectures.RandomReference(architecture, seed: 3);
            TestBatch batch = TestArchitectures.RandomBatch(architecture, 21, seed: 4);
            using CpuEngine engine = CreateEngine(architecture, Setups[setup], seed: 3);

            var outputs = new float[batch.Size * architecture.OutputSize];
            var losses = new float[batch.Size];
            engine.Evaluate(batch.Inputs, batch.Labels, batch.Targets, batch.Size, outputs, losses);

            AssertClose(reference.Forward(batch.InputsAsDouble, batch.Size), outputs);
            AssertClose(reference.SampleLosses(batch.InputsAsDouble, batch.Labels, batch.TargetsAsDouble, batch.Size), losses);
        }
    }

    [Theory]
    [MemberData(nameof(EveryEngineSetup))]
    public void Rows_padded_past_a_multiple_of_one_kibibyte_predict_and_train_like_the_reference(string setup)
    {
        // 256 inputs and 256 units: both weight strides get the extra vector that breaks cache-set aliasing.
        NetworkArchitecture architecture = new("Padded", Loss.SoftmaxCrossEntropy, "X", 256,
        [
            new DenseLayerArchitecture("Wide", 256, 256, Activation.Tanh, LayerMask.None),
            new DenseLayerArchitecture("Output", 3, 256, Activation.Identity, LayerMask.None),
        ]);
        AssertPredictMatches(architecture, Setups[setup], 1);
        AssertPredictMatches(architecture, Setups[setup], 5);
        AssertTrainingMatches(architecture, Setups[setup], new Sgd(0.01f, momentum: 0.9f).ToStep(), batch: 5, steps: 2);
    }

    [Fact]
    public void Cross_entropy_stays_finite_for_huge_logits()
    {
        var architecture = new NetworkArchitecture("Huge", Loss.SoftmaxCrossEntropy, "X", 1,
            [new DenseLayerArchitecture("Output", 3, 1, Activation.Identity, LayerMask.None)]);
        using var engine = new CpuEngine(architecture, [null], Setups["Avx512, 1 thread"]);
        engine.WriteParameters([0, 0, 0, 1000, 0, -1000]);

        var outputs = new float[9];
        var losses = new float[3];
        engine.Evaluate([0, 0, 0], [0, 1, 2], [], 3, outputs, losses);

        Assert.Equal([0f, 1000f, 2000f], losses);
    }

    [Fact]
    public void Momentum_round_trips_in_the_flat_parameter_layout()
    {
        NetworkArchitecture architecture = OddSizes(Activation.Relu, Loss.SoftmaxCrossEntropy);
        using CpuEngine engine = CreateEngine(architecture, Setups["Avx2, 3 threads"], seed: 1);
        float[] momentum = TestArchitectures.RandomParameters(architecture, seed: 9);

        engine.WriteMomentum(momentum);
        var read = new float[momentum.Length];
        engine.ReadMomentum(read);

        Assert.Equal(momentum, read);
    }

    [Fact]
    public void A_larger_batch_after_a_smaller_one_is_computed_correctly()
    {
        NetworkArchitecture architecture = OddSizes(Activation.Tanh, Loss.MeanSquaredError);
        ReferenceNetwork reference = TestArchitectures.RandomReference(architecture, seed: 2);
        using CpuEngine engine = CreateEngine(architecture, Setups["Avx512, 3 threads"], seed: 2);
        foreach (int size in new[] { 3, 40, 17, 70 })
        {
            TestBatch batch = TestArchitectures.RandomBatch(architecture, size, seed: size);
            reference.TrainBatch(batch, PlainSgd);
            engine.TrainBatch(batch.Inputs, batch.Labels, batch.Targets, batch.Size, PlainSgd);
        }

        AssertClose(reference.Parameters, ReadParameters(engine, architecture), 1e-4);
    }

    /// <summary>13 → 33 → 17 → 2: no width a multiple of any vector, and three layers so deltas pass through a hidden layer.</summary>
    internal static NetworkArchitecture OddSizes(Activation hidden, Loss loss) =>
        new($"Odd_{hidden}_{loss}", loss, "X", 13,
        [
            new DenseLayerArchitecture("First", 33, 13, hidden, LayerMask.None),
            new DenseLayerArchitecture("Second", 17, 33, hidden, LayerMask.None),
            new DenseLayerArchitecture("Output", 2, 17, Activation.Identity, LayerMask.None),
        ]);

    private static NetworkArchitecture FiveSevenThree(Activation hidden) =>
        new($"FiveSevenThree_{hidden}", Loss.MeanSquaredError, "X", 5,
        [
            new DenseLayerArchitecture("Hidden", 7, 5, hidden, LayerMask.None),
            new DenseLayerArchitecture("Output", 3, 7, Activation.Identity, LayerMask.None),
        ]);

    internal static CpuEngine CreateEngine(NetworkArchitecture architecture, CpuEngineOptions options, int seed)
    {
        var engine = new CpuEngine(architecture, TestArchitectures.Masks(architecture), options);
        engine.WriteParameters(TestArchitectures.RandomParameters(architecture, seed));
        return engine;
    }

    internal static float[] ReadParameters(CpuEngine engine, NetworkArchitecture architecture)
    {
        var parameters = new float[architecture.ParameterCount];
        engine.ReadParameters(parameters);
        return parameters;
    }

    private static void AssertPredictMatches(NetworkArchitecture architecture, CpuEngineOptions options, int size)
    {
        ReferenceNetwork reference = TestArchitectures.RandomReference(architecture, seed: 11);
        TestBatch batch = TestArchitectures.RandomBatch(architecture, size, seed: 12);
        using CpuEngine engine = CreateEngine(architecture, options, seed: 11);

        var outputs = new float[size * architecture.OutputSize];
        engine.Predict(batch.Inputs, outputs, size);

        AssertClose(reference.Forward(batch.InputsAsDouble, size), outputs);
    }

    private static float[] AssertTrainingMatches(NetworkArchitecture architecture, CpuEngineOptions options, SgdStep sgd, int batch, int steps)
    {
        ReferenceNetwork reference = TestArchitectures.RandomReference(architecture, seed: 5);
        using CpuEngine engine = CreateEngine(architecture, options, seed: 5);
        for (int step = 0; step < steps; step++)
        {
            TestBatch data = TestArchitectures.RandomBatch(architecture, batch, seed: 100 + step);
            double expectedLoss = reference.TrainBatch(data, sgd);
            float loss = engine.TrainBatch(data.Inputs, data.Labels, data.Targets, data.Size, sgd);
            Assert.True(Math.Abs(loss - expectedLoss) <= 1e-4 * (1 + Math.Abs(expectedLoss)), $"Step {step}: loss {loss}, reference {expectedLoss}.");
        }

        float[] parameters = ReadParameters(engine, architecture);
        AssertClose(reference.Parameters, parameters, 1e-4);
        var momentum = new float[parameters.Length];
        engine.ReadMomentum(momentum);
        AssertClose(reference.Momentum, momentum, 1e-4);
        return parameters;
    }

    private static void AssertInputGradientMatches(NetworkArchitecture architecture, CpuEngineOptions options, int size)
    {
        ReferenceNetwork reference = TestArchitectures.RandomReference(architecture, seed: 21);
        TestBatch batch = TestArchitectures.RandomBatch(architecture, size, seed: 22);
        using CpuEngine engine = CreateEngine(architecture, options, seed: 21);
        float[] before = ReadParameters(engine, architecture);

        var gradient = new float[batch.Inputs.Length];
        float loss = engine.InputGradient(batch.Inputs, batch.Labels, batch.Targets, size, gradient);

        ReferenceGradients expected = reference.Gradients(batch);
        AssertClose(expected.Inputs, gradient);
        AssertClose([expected.Loss], [loss]);
        Assert.Equal(before, ReadParameters(engine, architecture));
    }

    private static void AssertMaskedWeightsAreZero(NetworkArchitecture architecture, float[] parameters)
    {
        float[]?[] masks = TestArchitectures.Masks(architecture);
        for (int l = 0; l < masks.Length; l++)
        {
            float[] mask = masks[l]!;
            for (int i = 0; i < mask.Length; i++)
            {
                if (mask[i] == 0)
                {
                    Assert.Equal(0f, parameters[architecture.WeightOffset(l) + i]);
                }
            }
        }
    }

    internal static void AssertClose(double[] expected, float[] actual, double tolerance = Tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs(actual[i] - expected[i]);
            Assert.True(error <= tolerance * (1 + Math.Abs(expected[i])), $"Element {i}: expected {expected[i]}, got {actual[i]} (error {error}).");
        }
    }
}
