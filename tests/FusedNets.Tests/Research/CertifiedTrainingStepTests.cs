using System.Collections.Immutable;
using FusedNets.Backends;
using FusedNets.Backends.Cpu;
using FusedNets.Gpu;
using FusedNets.Reference;
using FusedNets.Tests.Reference;
using ILGPU.Runtime;

namespace FusedNets.Tests.Research;

/// <summary>
/// Certified training's step on the CPU engine against the reference, at every vector width and on several threads:
/// the mixed loss and the parameters after steps with momentum, with and without the elision of the last layer,
/// through every kind; masked weights stay zero; and the GPU engines say they do not train this way.
/// </summary>
public class CertifiedTrainingStepTests
{
    private static readonly ImmutableDictionary<string, CpuEngineOptions> Setups = new Dictionary<string, CpuEngineOptions>
    {
        ["Avx512, 1 thread"] = new() { Width = VectorWidth.Vector512, Threads = 1 },
        ["Avx512, 3 threads"] = new() { Width = VectorWidth.Vector512, Threads = 3, ParallelFlops = 0 },
        ["Avx2, 2 threads"] = new() { Width = VectorWidth.Vector256, Threads = 2, ParallelFlops = 0 },
        ["Scalar, 1 thread"] = new() { Width = VectorWidth.Scalar, Threads = 1 },
    }.ToImmutableDictionary();

    private static readonly Dictionary<string, Func<NetworkArchitecture>> Networks = new()
    {
        ["Mlp, Relu (elided)"] = () => TestArchitectures.Mlp(Activation.Relu, Loss.SoftmaxCrossEntropy),
        ["Mlp, Gelu into a tanh output (not elided)"] = () => TestArchitectures.Mlp(Activation.Gelu, Loss.SoftmaxCrossEntropy, output: Activation.Tanh),
        ["Masked Mlp"] = () => TestArchitectures.Masked("Banded", Loss.SoftmaxCrossEntropy),
        ["ConvNet, LeakyRelu"] = () => TestArchitectures.ConvNet(Activation.LeakyRelu, Loss.SoftmaxCrossEntropy),
        ["ConvNet, Gelu"] = () => TestArchitectures.ConvNet(Activation.Gelu, Loss.SoftmaxCrossEntropy),
        ["StridedConvNet, masked"] = () => TestArchitectures.StridedConvNet(Loss.SoftmaxCrossEntropy, TestArchitectures.Mask("Random")),
    };

    public static TheoryData<string, string> EveryNetworkAtEverySetup()
    {
        var data = new TheoryData<string, string>();
        foreach (string network in Networks.Keys)
        {
            foreach (string setup in Setups.Keys.Order())
            {
                data.Add(network, setup);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EveryNetworkAtEverySetup))]
    public void Certified_steps_match_the_reference(string network, string setup)
    {
        NetworkArchitecture architecture = Networks[network]();
        using var engine = new CpuEngine(architecture, TestArchitectures.Masks(architecture), Setups[setup]);
        engine.WriteParameters(TestArchitectures.RandomParameters(architecture, seed: 41));
        ReferenceNetwork reference = TestArchitectures.RandomReference(architecture, seed: 41);
        SgdStep sgd = new Sgd(0.05f, momentum: 0.9f, weightDecay: 0.01f).ToStep();
        CertifiedStep[] steps = [new(0.1f, 0.4f, -1, 1), new(0.05f, 0f, float.NegativeInfinity, float.PositiveInfinity), new(0.2f, 1f, -0.9f, 0.9f)];
        for (int s = 0; s < steps.Length; s++)
        {
            TestBatch batch = TestArchitectures.RandomBatch(architecture, 7 + 10 * s, seed: 50 + s);
            if (steps[s].ClipMin == -0.9f)
            {
                ClampInto(batch.Inputs, -0.9f, 0.9f);
            }

            float loss = engine.TrainBatchCertified(batch.Inputs, batch.Labels, batch.Size, steps[s], sgd);

            var lower = new float[batch.Inputs.Length];
            var upper = new float[batch.Inputs.Length];
            IntervalBoxes.Around(batch.Inputs, steps[s].Epsilon, steps[s].ClipMin, steps[s].ClipMax, lower, upper);
            ReferenceGradients expected = reference.CertifiedGradients(batch.InputsAsDouble, Widen(lower), Widen(upper), batch.Labels, batch.Size, steps[s].Kappa);
            reference.Step(expected.Parameters, sgd);
            AssertClose(expected.Loss, loss, $"loss of step {s}");
        }

        var parameters = new float[architecture.ParameterCount];
        engine.ReadParameters(parameters);
        for (int p = 0; p < parameters.Length; p++)
        {
            AssertClose(reference.Parameters[p], parameters[p], $"parameter {p} after {steps.Length} steps");
        }

        float[]?[] masks = TestArchitectures.Masks(architecture);
        for (int l = 0; l < masks.Length; l++)
        {
            for (int i = 0; masks[l] is { } mask && i < mask.Length; i++)
            {
                if (mask[i] == 0)
                {
                    Assert.Equal(0f, parameters[architecture.WeightOffset(l) + i]);
                }
            }
        }
    }

    [Fact]
    public void A_certified_step_that_goes_non_finite_is_dropped()
    {
        // ReLU saturates nowhere: inputs near 1e18 give a finite loss (near 1e18) and first-layer gradients near 1e17,
        // which a learning rate of 1e30 carries past float's range. (Under tanh the gradients stay below 1 and the
        // largest learning rate leaves the step finite.)
        NetworkArchitecture architecture = TestArchitectures.Mlp(Activation.Relu, Loss.SoftmaxCrossEntropy);
        using var engine = new CpuEngine(architecture, TestArchitectures.Masks(architecture), new CpuEngineOptions { Threads = 1 });
        float[] before = TestArchitectures.RandomParameters(architecture, seed: 3);
        engine.WriteParameters(before);
        TestBatch batch = TestArchitectures.RandomBatch(architecture, 4, seed: 4);
        float[] inputs = Array.ConvertAll(batch.Inputs, value => value * 1e18f);

        float loss = engine.TrainBatchCertified(inputs, batch.Labels, batch.Size, new CertifiedStep(0.1f, 0.5f, float.NegativeInfinity, float.PositiveInfinity), new Sgd(1e30f).ToStep());

        Assert.True(float.IsNaN(loss));
        var after = new float[before.Length];
        engine.ReadParameters(after);
        Assert.Equal(before, after);
    }

    [Fact]
    public void The_gpu_engines_say_certified_training_runs_on_the_cpu()
    {
        NetworkArchitecture architecture = TestArchitectures.Mlp(Activation.Relu, Loss.SoftmaxCrossEntropy);
        Accelerator accelerator = IlgpuDevices.TryGet(Backend.IlgpuCpu, out string whyNot) ?? throw new InvalidOperationException(whyNot);
        using INetworkEngine engine = new IlgpuEngine(Backend.IlgpuCpu, accelerator, architecture, TestArchitectures.Masks(architecture));
        TestBatch batch = TestArchitectures.RandomBatch(architecture, 2, seed: 1);

        var error = Assert.Throws<NotSupportedException>(() => engine.TrainBatchCertified(batch.Inputs, batch.Labels, 2, new CertifiedStep(0.1f, 0.5f, -1, 1), new Sgd(0.1f).ToStep()));
        Assert.Contains("Backend.Cpu", error.Message, StringComparison.Ordinal);
    }

    private static void ClampInto(float[] values, float min, float max)
    {
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = Math.Clamp(values[i], min, max);
        }
    }

    // Float against double through the bounds of a few layers and three steps.
    private static void AssertClose(double expected, float actual, string what) =>
        Assert.True(Math.Abs(actual - expected) <= 1e-4 * (1 + Math.Abs(expected)), $"{what}: expected {expected:R}, got {actual:R}");

    private static double[] Widen(float[] values) => Array.ConvertAll(values, value => (double)value);
}
