using FusedNets.Reference;
using FusedNets.Tests.Networks;
using FusedNets.Tests.Reference;

namespace FusedNets.Tests.Kernels;

/// <summary>
/// Every backend computes what the double-precision reference computes: the forward, the loss, the input
/// gradient and SGD steps, for generated networks covering every activation, both losses, both kinds of mask and
/// every layer kind. Parameters and batches are random (seeded) floats, set identically on both sides.
/// </summary>
public class BackendConformanceTests
{
    private const double Absolute = 1e-4, Relative = 1e-3;

    public static TheoryData<string, Backend> Cases()
    {
        var data = new TheoryData<string, Backend>();
        foreach (Backend backend in new[] { Backend.IlgpuCpu, Backend.Cpu })
        {
            foreach (string network in Networks.Keys)
            {
                // ILGPU's CPU accelerator emulates every GPU thread: MNIST-sized layers take minutes there. Its
                // convolution kernels are checked on ConvRegressor here and on small conv nets in IlgpuLayerKindTests.
                if (backend != Backend.IlgpuCpu || network is not (nameof(MnistMlp) or nameof(LeNet)))
                {
                    data.Add(network, backend);
                }
            }
        }

        return data;
    }

    /// <summary>
    /// The cases whose networks have masked layers. ConvRegressor's five steps take ILGPU's CPU simulator tens of
    /// seconds; IlgpuLayerKindTests trains masked convolutions there already.
    /// </summary>
    public static TheoryData<string, Backend> MaskedCases() => new()
    {
        { nameof(MaskedClassifier), Backend.IlgpuCpu },
        { nameof(MaskedClassifier), Backend.Cpu },
        { nameof(ConvRegressor), Backend.Cpu },
    };

    /// <summary>
    /// Networks checked with parameters at the scale training gives them rather than uniform in [-1, 1): LeNet's sums
    /// of 150 convolution taps and 400 inputs grow such weights' activations to about 1e6 by the third SGD step, where
    /// float and double sums round apart by more than any tolerance.
    /// </summary>
    private static readonly HashSet<string> TrainedScale = [nameof(LeNet)];

    private static readonly Dictionary<string, Func<Backend, Network>> Networks = new()
    {
        [nameof(EveryActivationClassifier)] = backend => new EveryActivationClassifier(seed: 3, backend),
        [nameof(TinyRegressor)] = backend => new TinyRegressor(seed: 3, backend),
        [nameof(MaskedClassifier)] = backend => new MaskedClassifier(seed: 3, backend),
        [nameof(TiledClassifier)] = backend => new TiledClassifier(seed: 3, backend),
        [nameof(WideRegressor)] = backend => new WideRegressor(seed: 3, backend),
        [nameof(MnistMlp)] = backend => new MnistMlp(seed: 3, backend),
        [nameof(LeNet)] = backend => new LeNet(seed: 3, backend),
        [nameof(ConvRegressor)] = backend => new ConvRegressor(seed: 3, backend),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Predict_matches_the_reference(string network, Backend backend)
    {
        using Network net = Create(network, backend, out ReferenceNetwork reference);
        foreach (int size in new[] { 1, 7 })
        {
            TestBatch batch = TestArchitectures.RandomBatch(net.Architecture, size, seed: size);
            var outputs = new float[size * net.Architecture.OutputSize];

            net.Predict(batch.Inputs, outputs);

            AssertClose(reference.Forward(batch.InputsAsDouble, size), outputs, "outputs");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Input_gradient_matches_the_reference(string network, Backend backend)
    {
        using Network net = Create(network, backend, out ReferenceNetwork reference);
        TestBatch batch = TestArchitectures.RandomBatch(net.Architecture, 5, seed: 11);
        var gradient = new float[batch.Inputs.Length];

        float loss = net.InputGradientCore(batch.Inputs, batch.Labels, batch.Targets, gradient);

        ReferenceGradients expected = reference.Gradients(batch);
        AssertClose([expected.Loss], [loss], "loss");
        AssertClose(expected.Inputs, gradient, "dLoss/dinputs");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Sgd_steps_match_the_reference(string network, Backend backend)
    {
        using Network net = Create(network, backend, out ReferenceNetwork reference);
        var sgd = new Sgd(0.05f, momentum: 0.9f, nesterov: true, weightDecay: 0.01f);
        for (int step = 0; step < 3; step++)
        {
            TestBatch batch = TestArchitectures.RandomBatch(net.Architecture, 6, seed: 20 + step);

            float loss = net.TrainBatchCore(batch.Inputs, batch.Labels, batch.Targets, sgd);

            AssertClose([reference.TrainBatch(batch, sgd.ToStep())], [loss], $"loss of step {step}");
        }

        var parameters = new float[net.Architecture.ParameterCount];
        net.CopyParametersTo(parameters);
        AssertClose(reference.Parameters, parameters, "parameters after 3 steps");
    }

    [Theory]
    [MemberData(nameof(MaskedCases))]
    public void Masked_weights_stay_exactly_zero_through_training(string network, Backend backend)
    {
        using Network net = Create(network, backend, out _);
        var sgd = new Sgd(0.1f, momentum: 0.9f, weightDecay: 0.001f);
        for (int step = 0; step < 5; step++)
        {
            TestBatch batch = TestArchitectures.RandomBatch(net.Architecture, 4, seed: step);
            net.TrainBatchCore(batch.Inputs, batch.Labels, batch.Targets, sgd);
        }

        int masked = 0;
        foreach (Layer layer in net.Layers.Where(layer => layer.Mask.IsMasked))
        {
            // A mask sees the weights as a matrix: a dense layer's [units, inputs], a convolution's [filters, channels · kernel²].
            (int rows, int columns) = layer.Architecture!.WeightMatrix;
            Span<float> weights = layer.Weights;
            Assert.Equal(rows * columns, weights.Length);
            for (int row = 0; row < rows; row++)
            {
                for (int column = 0; column < columns; column++)
                {
                    if (!layer.Mask.Keeps(row, column))
                    {
                        Assert.Equal(0f, weights[row * columns + column]);
                        masked++;
                    }
                }
            }
        }

        Assert.True(masked > 0, "the network has no masked weight to check");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Same_seed_and_backend_train_to_identical_bits(string network, Backend backend)
    {
        float[] Train()
        {
            using Network net = Networks[network](backend);
            var sgd = new Sgd(0.05f, momentum: 0.9f);
            for (int step = 0; step < 3; step++)
            {
                TestBatch batch = TestArchitectures.RandomBatch(net.Architecture, 9, seed: step);
                net.TrainBatchCore(batch.Inputs, batch.Labels, batch.Targets, sgd);
            }

            var parameters = new float[net.Architecture.ParameterCount];
            net.CopyParametersTo(parameters);
            return parameters;
        }

        Assert.Equal(Train(), Train());
    }

    /// <summary>The network with random parameters, and a reference network holding the same ones.</summary>
    private static Network Create(string network, Backend backend, out ReferenceNetwork reference)
    {
        Network net = Networks[network](backend);
        float[] parameters = TrainedScale.Contains(network)
            ? Cpu.CpuConvolutionTests.TrainedScaleParameters(net.Architecture, seed: 5)
            : TestArchitectures.RandomParameters(net.Architecture, seed: 5);
        net.SetParameters(parameters);
        reference = new ReferenceNetwork(net.Architecture, parameters, TestArchitectures.Masks(net.Architecture));
        return net;
    }

    private static void AssertClose(IReadOnlyList<double> expected, IReadOnlyList<float> actual, string what)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            double error = Math.Abs(actual[i] - expected[i]);
            Assert.True(
                error <= Absolute + Relative * Math.Abs(expected[i]),
                $"{what}[{i}]: expected {expected[i]:R}, got {actual[i]:R} (error {error:E2})");
        }
    }
}
