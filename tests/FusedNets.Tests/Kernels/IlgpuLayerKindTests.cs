using FusedNets.Backends;
using FusedNets.Gpu;
using FusedNets.Reference;
using FusedNets.Tests.Reference;
using ILGPU.Runtime;

namespace FusedNets.Tests.Kernels;

/// <summary>
/// Convolution and pooling networks on the ILGPU kernels (on ILGPU's CPU simulator) compute what the double-precision
/// reference computes: outputs, per-sample losses, input gradients, and the parameters after SGD steps with momentum,
/// Nesterov, weight decay and masks. The networks have padding, strides that skip and overhang the input, windows that
/// leave a remainder, and no size a multiple of anything.
/// </summary>
public class IlgpuLayerKindTests
{
    private const double Absolute = 1e-4, Relative = 1e-3;

    private static readonly Dictionary<string, Func<NetworkArchitecture>> Networks = new()
    {
        ["ConvNet, Relu, cross-entropy"] = () => TestArchitectures.ConvNet(Activation.Relu, Loss.SoftmaxCrossEntropy),
        ["ConvNet, Gelu, squared error, random mask"] = () => TestArchitectures.ConvNet(Activation.Gelu, Loss.MeanSquaredError, TestArchitectures.Mask("Random")),
        ["StridedConvNet, cross-entropy, banded mask"] = () => TestArchitectures.StridedConvNet(Loss.SoftmaxCrossEntropy, TestArchitectures.Mask("Banded")),
        ["StridedConvNet, squared error, random mask"] = () => TestArchitectures.StridedConvNet(Loss.MeanSquaredError, TestArchitectures.Mask("Random")),
    };

    public static TheoryData<string> NetworkNames => [.. Networks.Keys];

    [Theory]
    [MemberData(nameof(NetworkNames))]
    public void Predict_matches_the_reference(string network)
    {
        using INetworkEngine engine = Create(network, out ReferenceNetwork reference);
        foreach (int size in new[] { 1, 3 })
        {
            TestBatch batch = TestArchitectures.RandomBatch(reference.Architecture, size, seed: size);
            var outputs = new float[size * reference.Architecture.OutputSize];

            engine.Predict(batch.Inputs, outputs, size);

            AssertClose(reference.Forward(batch.InputsAsDouble, size), outputs, "outputs");
        }
    }

    [Theory]
    [MemberData(nameof(NetworkNames))]
    public void Per_sample_losses_match_the_reference(string network)
    {
        using INetworkEngine engine = Create(network, out ReferenceNetwork reference);
        TestBatch batch = TestArchitectures.RandomBatch(reference.Architecture, 4, seed: 7);
        var outputs = new float[batch.Size * reference.Architecture.OutputSize];
        var losses = new float[batch.Size];

        engine.Evaluate(batch.Inputs, batch.Labels, batch.Targets, batch.Size, outputs, losses);

        AssertClose(reference.SampleLosses(batch.InputsAsDouble, batch.Labels, batch.TargetsAsDouble, batch.Size), losses, "losses");
    }

    [Theory]
    [MemberData(nameof(NetworkNames))]
    public void Input_gradient_matches_the_reference(string network)
    {
        using INetworkEngine engine = Create(network, out ReferenceNetwork reference);
        TestBatch batch = TestArchitectures.RandomBatch(reference.Architecture, 3, seed: 11);
        var gradient = new float[batch.Inputs.Length];

        float loss = engine.InputGradient(batch.Inputs, batch.Labels, batch.Targets, batch.Size, gradient);

        ReferenceGradients expected = reference.Gradients(batch);
        AssertClose([expected.Loss], [loss], "loss");
        AssertClose(expected.Inputs, gradient, "dLoss/dinputs");
    }

    [Theory]
    [MemberData(nameof(NetworkNames))]
    public void Sgd_steps_match_the_reference_and_masked_weights_stay_zero(string network)
    {
        using INetworkEngine engine = Create(network, out ReferenceNetwork reference);
        SgdStep sgd = new Sgd(0.05f, momentum: 0.9f, nesterov: true, weightDecay: 0.01f).ToStep();
        for (int step = 0; step < 3; step++)
        {
            TestBatch batch = TestArchitectures.RandomBatch(reference.Architecture, 5, seed: 20 + step);

            float loss = engine.TrainBatch(batch.Inputs, batch.Labels, batch.Targets, batch.Size, sgd);

            AssertClose([reference.TrainBatch(batch, sgd)], [loss], $"loss of step {step}");
        }

        var parameters = new float[reference.Architecture.ParameterCount];
        engine.ReadParameters(parameters);
        AssertClose(reference.Parameters, parameters, "parameters after 3 steps");
        float[]?[] masks = TestArchitectures.Masks(reference.Architecture);
        for (int l = 0; l < masks.Length; l++)
        {
            for (int i = 0; masks[l] is { } mask && i < mask.Length; i++)
            {
                if (mask[i] == 0)
                {
                    Assert.Equal(0f, parameters[reference.Architecture.WeightOffset(l) + i]);
                }
            }
        }
    }

    /// <summary>An IlgpuCpu engine with random parameters, and a reference network holding the same ones.</summary>
    private static IlgpuEngine Create(string network, out ReferenceNetwork reference)
    {
        NetworkArchitecture architecture = Networks[network]();
        Accelerator accelerator = IlgpuDevices.TryGet(Backend.IlgpuCpu, out string whyNot) ?? throw new InvalidOperationException(whyNot);
        float[]?[] masks = TestArchitectures.Masks(architecture);
        var engine = new IlgpuEngine(Backend.IlgpuCpu, accelerator, architecture, masks);
        float[] parameters = TestArchitectures.RandomParameters(architecture, seed: 5);
        engine.WriteParameters(parameters);
        reference = new ReferenceNetwork(architecture, parameters, masks);
        return engine;
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
