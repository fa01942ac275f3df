using FusedNets.Generated;
using System.Collections.Immutable;
using FusedNets.Backends.Cpu;
using FusedNets.Reference;
using FusedNets.Tests.Reference;
using Xunit;

namespace FusedNets.Tests.Cpu;

/// <summary>
/// The CPU kernels of Conv2D, MaxPool2D and AvgPool2D against the double-precision reference, at every vector width
/// and on 1, 2 and 3 threads: outputs, losses, input gradients and SGD steps; then what the engine promises beyond
/// the reference: the same bits for any thread count, one sample as the batch computes it, masked weights exactly zero.
/// </summary>
public class CpuConvolutionTests
{
    // Float against double: the dense layers' tolerances (CpuEngineTests), through sums of up to 400 terms.
    private const double Tolerance = 2e-5, ParameterTolerance = 1e-4;

    private static readonly SgdStep Momentum = new Sgd(0.05f, momentum: 0.9f).ToStep();

    /// <summary>Every width on 1, 2 and 3 threads; ParallelFlops = 0 splits even these tiny networks.</summary>
    private static readonly ImmutableDictionary<string, CpuEngineOptions> Setups = new Dictionary<string, CpuEngineOptions>
    {
        ["Avx512, 1 thread"] = new() { Width = VectorWidth.Vector512, Threads = 1 },
        ["Avx512, 2 threads"] = new() { Width = VectorWidth.Vector512, Threads = 2, ParallelFlops = 0 },
        ["Avx512, 3 threads"] = new() { Width = VectorWidth.Vector512, Threads = 3, ParallelFlops = 0 },
        ["Avx2, 1 thread"] = new() { Width = VectorWidth.Vector256, Threads = 1 },
        ["Avx2, 2 threads"] = new() { Width = VectorWidth.Vector256, Threads = 2, ParallelFlops = 0 },
        ["Avx2, 3 threads"] = new() { Width = VectorWidth.Vector256, Threads = 3, ParallelFlops = 0 },
        ["Vector128, 1 thread"] = new() { Width = VectorWidth.Vector128, Threads = 1 },
        ["Vector128, 2 threads"] = new() { Width = VectorWidth.Vector128, Threads = 2, ParallelFlops = 0 },
        ["Vector128, 3 threads"] = new() { Width = VectorWidth.Vector128, Threads = 3, ParallelFlops = 0 },
        ["Scalar, 1 thread"] = new() { Width = VectorWidth.Scalar, Threads = 1 },
        ["Scalar, 2 threads"] = new() { Width = VectorWidth.Scalar, Threads = 2, ParallelFlops = 0 },
        ["Scalar, 3 threads"] = new() { Width = VectorWidth.Scalar, Threads = 3, ParallelFlops = 0 },
    }.ToImmutableDictionary();

    private static readonly VectorWidth[] Widths = [VectorWidth.Vector512, VectorWidth.Vector256, VectorWidth.Vector128, VectorWidth.Scalar];

    public static TheoryData<string> EverySetup() => [.. Setups.Keys.Order()];

    public static TheoryData<Activation, Loss> EveryActivationWithEveryLoss() => TestArchitectures.EveryActivationWithEveryLoss();

    public static TheoryData<string> EveryWidth() => [.. Widths.Select(width => width.ToString())];

    /// <summary>
    /// LeNet's shapes (1 × 28 × 28 → Conv(6, 5, padding 2) → MaxPool 2 → Conv(16, 5) → AvgPool 2 → 120 → 84 → 10) with a
    /// random tenth of the first convolution's weights fixed at zero.
    /// </summary>
    internal static NetworkArchitecture LeNet(LayerMask? firstMask = null) =>
        new("LeNet", Loss.SoftmaxCrossEntropy, "Image", (1, 28, 28),
        [
            new Conv2DLayerArchitecture("Conv1", (1, 28, 28), filters: 6, kernel: 5, stride: 1, padding: 2, Activation.Relu, firstMask ?? LayerMask.None),
            new MaxPool2DLayerArchitecture("Pool1", (6, 28, 28), size: 2),
            new Conv2DLayerArchitecture("Conv2", (6, 14, 14), filters: 16, kernel: 5, stride: 1, padding: 0, Activation.Relu, LayerMask.None),
            new AvgPool2DLayerArchitecture("Pool2", (16, 10, 10), size: 2),
            new DenseLayerArchitecture("Fc1", 120, 400, Activation.Relu, LayerMask.None),
            new DenseLayerArchitecture("Fc2", 84, 120, Activation.Relu, LayerMask.None),
            new DenseLayerArchitecture("Logits", 10, 84, Activation.Identity, LayerMask.None),
        ]);

    private static NetworkArchitecture Strided(Loss loss) => TestArchitectures.StridedConvNet(loss, TestArchitectures.Mask("Random"));

    /// <summary>
    /// Padding 3 around a 2 × 3 image with a 2 × 2 kernel, so the outer ring of outputs sees only zeros; then stride 3
    /// with padding 2, whose windows skip input pixels and overhang the padding.
    /// </summary>
    private static NetworkArchitecture AllPadding() =>
        new("AllPadding", Loss.MeanSquaredError, "Image", (2, 2, 3),
        [
            new Conv2DLayerArchitecture("Halo", (2, 2, 3), filters: 2, kernel: 2, stride: 1, padding: 3, Activation.LeakyRelu, LayerMask.None),
            new Conv2DLayerArchitecture("Skip", (2, 7, 8), filters: 3, kernel: 2, stride: 3, padding: 2, Activation.Tanh, LayerMask.None),
            new DenseLayerArchitecture("Output", 2, 48, Activation.Identity, LayerMask.None),
        ]);

    [Theory]
    [MemberData(nameof(EveryActivationWithEveryLoss))]
    public void Conv_net_predicts_trains_and_backpropagates_to_its_inputs_like_the_reference(Activation activation, Loss loss)
    {
        NetworkArchitecture architecture = TestArchitectures.ConvNet(activation, loss);
        CpuEngineOptions options = Setups["Avx512, 3 threads"];
        AssertPredictMatches(architecture, options, batch: 9);
        AssertTrainingMatches(architecture, options, Momentum, batch: 9, steps: 3);
        AssertInputGradientMatches(architecture, options, batch: 5);
    }

    [Theory]
    [MemberData(nameof(EverySetup))]
    public void Conv_nets_match_the_reference_at_every_width_and_thread_count(string setup)
    {
        CpuEngineOptions options = Setups[setup];
        var sgd = new Sgd(0.05f, momentum: 0.8f, nesterov: true, weightDecay: 0.01f).ToStep();

        // Batches of 1, 7 and 33 leave a position 1, 2 or 3 AVX-512 vectors (5 of AVX2): every shape of tile.
        foreach (int batch in new[] { 1, 7, 33 })
        {
            AssertPredictMatches(TestArchitectures.ConvNet(Activation.Tanh, Loss.SoftmaxCrossEntropy), options, batch);
            AssertPredictMatches(Strided(Loss.MeanSquaredError), options, batch);
        }

        AssertTrainingMatches(TestArchitectures.ConvNet(Activation.LeakyRelu, Loss.MeanSquaredError), options, sgd, batch: 33, steps: 3);
        AssertTrainingMatches(Strided(Loss.SoftmaxCrossEntropy), options, sgd, batch: 7, steps: 3);
        AssertInputGradientMatches(TestArchitectures.ConvNet(Activation.Sigmoid, Loss.SoftmaxCrossEntropy), options, batch: 33);
        AssertInputGradientMatches(Strided(Loss.MeanSquaredError), options, batch: 7);
    }

    [Theory]
    [MemberData(nameof(EverySetup))]
    public void LeNet_shaped_network_matches_the_reference(string setup)
    {
        NetworkArchitecture architecture = LeNet();
        CpuEngineOptions options = Setups[setup];
        AssertPredictMatches(architecture, options, batch: 3, trainedScale: true);
        AssertTrainingMatches(architecture, options, Momentum, batch: 6, steps: 3, trainedScale: true);
        AssertInputGradientMatches(architecture, options, batch: 2, trainedScale: true);
    }

    [Theory]
    [MemberData(nameof(EveryWidth))]
    public void Masked_convolution_weights_stay_exactly_zero_through_training(string widthName)
    {
        VectorWidth width = Enum.Parse<VectorWidth>(widthName);
        foreach (NetworkArchitecture architecture in new[] { Strided(Loss.SoftmaxCrossEntropy), LeNet(LayerMask.Random(0.1, 5)) })
        {
            using CpuEngine engine = CpuEngineTests.CreateEngine(architecture, new CpuEngineOptions { Width = width, Threads = 2, ParallelFlops = 0 }, seed: 4);
            var sgd = new Sgd(0.1f, momentum: 0.9f, weightDecay: 0.01f).ToStep();
            for (int step = 0; step < 4; step++)
            {
                TestBatch batch = TestArchitectures.RandomBatch(architecture, 11, seed: step);
                Assert.True(float.IsFinite(engine.TrainBatch(batch.Inputs, batch.Labels, batch.Targets, batch.Size, sgd)));
            }

            float[] parameters = CpuEngineTests.ReadParameters(engine, architecture);
            float[] mask = LayerMask.ArrayOf(architecture.Layers[0])!;
            int kept = 0;
            for (int i = 0; i < mask.Length; i++)
            {
                float weight = parameters[architecture.WeightOffset(0) + i];
                if (mask[i] == 0)
                {
                    Assert.Equal(0f, weight);
                }
                else if (weight != 0)
                {
                    kept++;
                }
            }

            // The kept weights did train, so the zeros above are the mask's doing.
            Assert.Equal(mask.Count(keep => keep != 0), kept);
        }
    }

    [Theory]
    [MemberData(nameof(EveryWidth))]
    public void The_thread_count_changes_no_bit_of_a_conv_nets_training_outputs_or_input_gradient(string widthName)
    {
        VectorWidth width = Enum.Parse<VectorWidth>(widthName);
        foreach (NetworkArchitecture architecture in new[] { LeNet(), Strided(Loss.MeanSquaredError), TestArchitectures.ConvNet(Activation.Gelu, Loss.SoftmaxCrossEntropy) })
        {
            (float[] Parameters, float[] Outputs, float[] InputGradient) Run(int threads)
            {
                using CpuEngine engine = CpuEngineTests.CreateEngine(architecture, new CpuEngineOptions { Width = width, Threads = threads, ParallelFlops = 0 }, seed: 9);
                var sgd = new Sgd(0.02f, momentum: 0.9f, nesterov: true, weightDecay: 1e-3f).ToStep();
                for (int step = 0; step < 3; step++)
                {
                    TestBatch batch = TestArchitectures.RandomBatch(architecture, 40 + step, seed: step);
                    engine.TrainBatch(batch.Inputs, batch.Labels, batch.Targets, batch.Size, sgd);
                }

                TestBatch last = TestArchitectures.RandomBatch(architecture, 37, seed: 7);
                var outputs = new float[last.Size * architecture.OutputSize];
                engine.Predict(last.Inputs, outputs, last.Size);
                var inputGradient = new float[last.Inputs.Length];
                engine.InputGradient(last.Inputs, last.Labels, last.Targets, last.Size, inputGradient);
                return (CpuEngineTests.ReadParameters(engine, architecture), outputs, inputGradient);
            }

            var one = Run(1);
            foreach (int threads in new[] { 2, 3 })
            {
                var other = Run(threads);
                Assert.Equal(one.Parameters, other.Parameters);
                Assert.Equal(one.Outputs, other.Outputs);
                Assert.Equal(one.InputGradient, other.InputGradient);
            }
        }
    }

    [Theory]
    [MemberData(nameof(EveryWidth))]
    public void One_sample_predicts_the_bits_of_the_batched_forward(string widthName)
    {
        VectorWidth width = Enum.Parse<VectorWidth>(widthName);
        foreach (NetworkArchitecture architecture in new[] { LeNet(), Strided(Loss.SoftmaxCrossEntropy), TestArchitectures.ConvNet(Activation.Softplus, Loss.MeanSquaredError), AllPadding() })
        {
            using CpuEngine engine = CpuEngineTests.CreateEngine(architecture, new CpuEngineOptions { Width = width, Threads = 2, ParallelFlops = 0 }, seed: 2);
            TestBatch batch = TestArchitectures.RandomBatch(architecture, 5, seed: 3);

            // After a training step too: the single-sample path must see the new weights.
            for (int round = 0; round < 2; round++)
            {
                var batched = new float[batch.Size * architecture.OutputSize];
                engine.Predict(batch.Inputs, batched, batch.Size);
                for (int sample = 0; sample < batch.Size; sample++)
                {
                    var single = new float[architecture.OutputSize];
                    engine.Predict(batch.Inputs.AsSpan(sample * architecture.InputSize, architecture.InputSize), single, 1);
                    Assert.Equal(batched.AsSpan(sample * architecture.OutputSize, architecture.OutputSize).ToArray(), single);
                }

                engine.TrainBatch(batch.Inputs, batch.Labels, batch.Targets, batch.Size, Momentum);
            }
        }
    }

    [Fact]
    public void The_forward_gives_the_same_bits_at_every_width()
    {
        NetworkArchitecture architecture = LeNet();
        TestBatch batch = TestArchitectures.RandomBatch(architecture, 19, seed: 4);
        float[][] outputs = [.. CpuKernelTests.WidthsThatRoundAlike.Select(width =>
        {
            using CpuEngine engine = CpuEngineTests.CreateEngine(architecture, new CpuEngineOptions { Width = width, Threads = 1 }, seed: 4);
            var result = new float[batch.Size * architecture.OutputSize];
            engine.Predict(batch.Inputs, result, batch.Size);
            return result;
        })];

        Assert.All(outputs, output => Assert.Equal(outputs[0], output));
    }

    [Theory]
    [MemberData(nameof(EveryWidth))]
    public void Max_pooling_sends_a_tied_windows_gradient_to_its_first_largest_value_like_the_reference(string widthName)
    {
        VectorWidth width = Enum.Parse<VectorWidth>(widthName);
        // Each 2 × 2 window of the 1 × 4 × 4 image holds its largest value twice (and the last row's windows four
        // times); the input gradient shows which position each took.
        var architecture = new NetworkArchitecture("Ties", Loss.MeanSquaredError, "Image", (1, 4, 4),
        [
            new MaxPool2DLayerArchitecture("Pool", (1, 4, 4), size: 2),
            new DenseLayerArchitecture("Output", 2, 4, Activation.Identity, LayerMask.None),
        ]);
        float[] image = [1, 3, 3, 0, 2, 3, 3, 1, 5, 5, 7, 7, 5, 5, 7, 7];
        var batch = new TestBatch(1, image, [], [0.5f, -0.5f]);
        using CpuEngine engine = CpuEngineTests.CreateEngine(architecture, new CpuEngineOptions { Width = width, Threads = 1 }, seed: 1);
        ReferenceNetwork reference = TestArchitectures.RandomReference(architecture, seed: 1);

        var gradient = new float[image.Length];
        engine.InputGradient(batch.Inputs, batch.Labels, batch.Targets, batch.Size, gradient);

        double[] expected = reference.Gradients(batch).Inputs;
        CpuEngineTests.AssertClose(expected, gradient);
        int[] taken = [.. Enumerable.Range(0, image.Length).Where(i => gradient[i] != 0)];
        Assert.Equal([1, 2, 8, 10], taken);
    }

    [Theory]
    [MemberData(nameof(EveryWidth))]
    public void Pooling_windows_of_three_that_leave_pixels_uncovered_match_the_reference(string widthName)
    {
        // 11 × 10 under 3 × 3 windows: rows 9 and 10 and column 9 belong to no window and must get a zero gradient;
        // average pooling multiplies by 1/9, which a float cannot hold exactly; then a max over a whole 3 × 3 map.
        var architecture = new NetworkArchitecture("Threes", Loss.SoftmaxCrossEntropy, "Image", (2, 11, 10),
        [
            new Conv2DLayerArchitecture("Conv", (2, 11, 10), filters: 3, kernel: 1, stride: 1, padding: 0, Activation.Tanh, LayerMask.None),
            new AvgPool2DLayerArchitecture("Average", (3, 11, 10), size: 3),
            new Conv2DLayerArchitecture("Mix", (3, 3, 3), filters: 2, kernel: 1, stride: 1, padding: 0, Activation.Sigmoid, LayerMask.None),
            new MaxPool2DLayerArchitecture("Max", (2, 3, 3), size: 3),
            new DenseLayerArchitecture("Output", 3, 2, Activation.Identity, LayerMask.None),
        ]);
        var options = new CpuEngineOptions { Width = Enum.Parse<VectorWidth>(widthName), Threads = 2, ParallelFlops = 0 };
        AssertPredictMatches(architecture, options, batch: 21);
        AssertInputGradientMatches(architecture, options, batch: 21);
        AssertTrainingMatches(architecture, options, Momentum, batch: 21, steps: 3);
    }

    [Theory]
    [MemberData(nameof(EveryWidth))]
    public void Windows_over_nothing_but_padding_give_the_bias_and_take_no_gradient_like_the_reference(string widthName)
    {
        NetworkArchitecture architecture = AllPadding();
        var options = new CpuEngineOptions { Width = Enum.Parse<VectorWidth>(widthName), Threads = 3, ParallelFlops = 0 };
        AssertPredictMatches(architecture, options, batch: 6);
        AssertInputGradientMatches(architecture, options, batch: 6);
        AssertTrainingMatches(architecture, options, Momentum, batch: 6, steps: 3);
    }

    [Theory]
    [MemberData(nameof(EveryWidth))]
    public void Max_pooling_takes_a_NaN_only_as_its_windows_first_value_as_the_reference_does(string widthName)
    {
        // Windows [NaN 1; 2 3] and [1 NaN; 5 2]: a NaN is never greater than the best so far, so only the first is taken.
        var architecture = new NetworkArchitecture("NaNs", Loss.MeanSquaredError, "Image", (1, 2, 4),
            [new MaxPool2DLayerArchitecture("Pool", (1, 2, 4), size: 2)]);
        float[] image = [float.NaN, 1, 1, float.NaN, 2, 3, 5, 2];
        using var engine = new CpuEngine(architecture, [null], new CpuEngineOptions { Width = Enum.Parse<VectorWidth>(widthName), Threads = 1 });
        double[] expected = new ReferenceNetwork(architecture, [], [null]).Forward(Array.ConvertAll(image, value => (double)value), 1);

        var outputs = new float[4];
        engine.Predict([.. image, .. image], outputs, 2);
        var single = new float[2];
        engine.Predict(image, single, 1);

        Assert.True(double.IsNaN(expected[0]));
        Assert.Equal(5, expected[1]);
        foreach (float[] actual in new[] { outputs[..2], outputs[2..], single })
        {
            Assert.True(float.IsNaN(actual[0]));
            Assert.Equal(5f, actual[1]);
        }
    }

    [Fact]
    public void A_larger_batch_after_a_smaller_one_trains_like_the_reference()
    {
        // The padded input copy and every position's vectors change layout with the batch.
        NetworkArchitecture architecture = TestArchitectures.ConvNet(Activation.Relu, Loss.SoftmaxCrossEntropy);
        ReferenceNetwork reference = TestArchitectures.RandomReference(architecture, seed: 2);
        using CpuEngine engine = CpuEngineTests.CreateEngine(architecture, Setups["Avx2, 2 threads"], seed: 2);
        foreach (int size in new[] { 3, 40, 17, 70, 1 })
        {
            TestBatch batch = TestArchitectures.RandomBatch(architecture, size, seed: size);
            reference.TrainBatch(batch, Momentum);
            engine.TrainBatch(batch.Inputs, batch.Labels, batch.Targets, batch.Size, Momentum);
        }

        CpuEngineTests.AssertClose(reference.Parameters, CpuEngineTests.ReadParameters(engine, architecture), ParameterTolerance);
    }

    [Fact]
    public void A_step_whose_convolution_weights_overflow_is_dropped_whole()
    {
        // Zero weights over huge inputs: the forward and the loss stay finite (z = b), the weight gradient does not,
        // and the bias step is finite; only the convolution's own update can notice.
        var architecture = new NetworkArchitecture("ConvOnly", Loss.MeanSquaredError, "Image", (2, 5, 5),
            [new Conv2DLayerArchitecture("Conv", (2, 5, 5), filters: 3, kernel: 3, stride: 1, padding: 1, Activation.Identity, LayerMask.None)]);
        using var engine = new CpuEngine(architecture, [null], Setups["Avx512, 2 threads"]);
        float[] parameters = [.. new float[architecture.ParameterCount - 3], 0.1f, 0.2f, 0.3f];
        engine.WriteParameters(parameters);
        float[] inputs = [.. Enumerable.Repeat(1e30f, 4 * architecture.InputSize)];
        var targets = new float[4 * architecture.OutputSize];

        float loss = engine.TrainBatch(inputs, [], targets, 4, new Sgd(1e10f, momentum: 0.9f).ToStep());

        Assert.True(float.IsNaN(loss));
        Assert.Equal(parameters, CpuEngineTests.ReadParameters(engine, architecture));
        var momentum = new float[parameters.Length];
        engine.ReadMomentum(momentum);
        Assert.All(momentum, value => Assert.Equal(0f, value));
    }

    [Fact]
    public void The_weight_gradient_tiles_cover_LeNets_convolutions_without_remainder()
    {
        Assert.Equal((3, 5), Conv2DCpuLayer<float, ScalarOps>.GradientTile(6, 25));
        Assert.Equal((4, 6), Conv2DCpuLayer<float, ScalarOps>.GradientTile(16, 150));
    }

    /// <summary>
    /// Parameters at a trained network's scale: training's initialization, and biases of ±0.1 so that their gradients
    /// are tested away from zero. LeNet with every weight in [-1, 1) has gradients in the hundreds, and two SGD steps
    /// of those amplify float rounding past any fair tolerance.
    /// </summary>
    internal static float[] TrainedScaleParameters(NetworkArchitecture architecture, int seed)
    {
        var parameters = new float[architecture.ParameterCount];
        Initialization.Initialize(architecture, TestArchitectures.Masks(architecture), seed, parameters);
        var random = new Random(seed);
        for (int l = 0; l < architecture.Layers.Length; l++)
        {
            LayerArchitecture layer = architecture.Layers[l];
            for (int i = layer.WeightCount; i < layer.ParameterCount; i++)
            {
                parameters[architecture.ParameterOffset(l) + i] = (float)(random.NextDouble() * 0.2 - 0.1);
            }
        }

        return parameters;
    }

    private static (ReferenceNetwork Reference, CpuEngine Engine) Create(NetworkArchitecture architecture, CpuEngineOptions options, int seed, bool trainedScale)
    {
        float[] parameters = trainedScale ? TrainedScaleParameters(architecture, seed) : TestArchitectures.RandomParameters(architecture, seed);
        var engine = new CpuEngine(architecture, TestArchitectures.Masks(architecture), options);
        engine.WriteParameters(parameters);
        return (new ReferenceNetwork(architecture, parameters, TestArchitectures.Masks(architecture)), engine);
    }

    private static void AssertPredictMatches(NetworkArchitecture architecture, CpuEngineOptions options, int batch, bool trainedScale = false)
    {
        (ReferenceNetwork reference, CpuEngine engine) = Create(architecture, options, seed: 11, trainedScale);
        using CpuEngine _ = engine;
        TestBatch data = TestArchitectures.RandomBatch(architecture, batch, seed: 12);

        var outputs = new float[batch * architecture.OutputSize];
        engine.Predict(data.Inputs, outputs, batch);

        CpuEngineTests.AssertClose(reference.Forward(data.InputsAsDouble, batch), outputs, Tolerance);
    }

    private static void AssertTrainingMatches(NetworkArchitecture architecture, CpuEngineOptions options, SgdStep sgd, int batch, int steps, bool trainedScale = false)
    {
        (ReferenceNetwork reference, CpuEngine engine) = Create(architecture, options, seed: 5, trainedScale);
        using CpuEngine _ = engine;
        for (int step = 0; step < steps; step++)
        {
            TestBatch data = TestArchitectures.RandomBatch(architecture, batch, seed: 100 + step);
            double expectedLoss = reference.TrainBatch(data, sgd);
            float loss = engine.TrainBatch(data.Inputs, data.Labels, data.Targets, data.Size, sgd);
            Assert.True(Math.Abs(loss - expectedLoss) <= ParameterTolerance * (1 + Math.Abs(expectedLoss)), $"Step {step}: loss {loss}, reference {expectedLoss}.");
        }

        CpuEngineTests.AssertClose(reference.Parameters, CpuEngineTests.ReadParameters(engine, architecture), ParameterTolerance);
        var momentum = new float[architecture.ParameterCount];
        engine.ReadMomentum(momentum);
        CpuEngineTests.AssertClose(reference.Momentum, momentum, ParameterTolerance);
    }

    private static void AssertInputGradientMatches(NetworkArchitecture architecture, CpuEngineOptions options, int batch, bool trainedScale = false)
    {
        (ReferenceNetwork reference, CpuEngine engine) = Create(architecture, options, seed: 21, trainedScale);
        using CpuEngine _ = engine;
        TestBatch data = TestArchitectures.RandomBatch(architecture, batch, seed: 22);
        float[] before = CpuEngineTests.ReadParameters(engine, architecture);

        var gradient = new float[data.Inputs.Length];
        float loss = engine.InputGradient(data.Inputs, data.Labels, data.Targets, batch, gradient);

        ReferenceGradients expected = reference.Gradients(data);
        CpuEngineTests.AssertClose(expected.Inputs, gradient, Tolerance);
        CpuEngineTests.AssertClose([expected.Loss], [loss], Tolerance);
        Assert.Equal(before, CpuEngineTests.ReadParameters(engine, architecture));
    }
}
