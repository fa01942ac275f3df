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
/// through every kind; masked weights stay zero; and the same on the ILGPU kernels, run on the CPU accelerator.
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

            AssertClose(ReferenceCertifiedStep(reference, batch, steps[s], sgd), loss, $"loss of step {s}");
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

    public static TheoryData<string, string> AdamOnEveryNetworkAtEverySetup()
    {
        var data = new TheoryData<string, string>();
        foreach (string network in new[] { "Mlp, Relu (elided)", "Masked Mlp", "ConvNet, Gelu" })
        {
            foreach (string setup in Setups.Keys.Order())
            {
                data.Add(network, setup);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(AdamOnEveryNetworkAtEverySetup))]
    public void Certified_steps_with_adam_and_adamw_match_the_reference(string network, string setup)
    {
        // The step's rule comes from the optimizer, as in ordinary training: Adam's bias corrections count its steps.
        foreach (Optimizer optimizer in new Optimizer[] { new Adam(0.01f, weightDecay: 0.01f), new AdamW(0.01f) })
        {
            NetworkArchitecture architecture = Networks[network]();
            using var engine = new CpuEngine(architecture, TestArchitectures.Masks(architecture), Setups[setup]);
            engine.WriteParameters(TestArchitectures.RandomParameters(architecture, seed: 43));
            ReferenceNetwork reference = TestArchitectures.RandomReference(architecture, seed: 43);
            CertifiedStep[] steps = [new(0.1f, 0.4f, float.NegativeInfinity, float.PositiveInfinity), new(0.05f, 0f, -1, 1), new(0.2f, 1f, float.NegativeInfinity, float.PositiveInfinity)];
            for (int s = 0; s < steps.Length; s++)
            {
                TestBatch batch = TestArchitectures.RandomBatch(architecture, 6 + 5 * s, seed: 60 + s);
                OptimizerStep step = optimizer.ToStep(optimizer.LearningRate, s + 1);
                float loss = engine.TrainBatchCertified(batch.Inputs, batch.Labels, batch.Size, steps[s], step);

                AssertClose(ReferenceCertifiedStep(reference, batch, steps[s], step), loss, $"{optimizer}: loss of step {s}");
            }

            var parameters = new float[architecture.ParameterCount];
            var secondMoment = new float[architecture.ParameterCount];
            engine.ReadParameters(parameters);
            engine.ReadSecondMoment(secondMoment);
            for (int p = 0; p < parameters.Length; p++)
            {
                AssertClose(reference.Parameters[p], parameters[p], $"{optimizer}: parameter {p} after {steps.Length} steps");
                AssertClose(reference.SecondMoment[p], secondMoment[p], $"{optimizer}: second moment {p} after {steps.Length} steps");
            }
        }
    }

    [Theory]
    [InlineData("Avx512, 3 threads")]
    [InlineData("Scalar, 1 thread")]
    public void A_network_that_standardizes_bounds_boxes_of_raw_features_in_certified_steps(string setup)
    {
        // ε and the clip range are in raw features; the reference standardizes both ends of the boxes in double.
        NetworkArchitecture architecture = Training.StandardizedClassifier.Definition;
        var statistics = new Standardization([0.5f, -2f, 1000f, 0.001f, 0f], [2f, 0.25f, 300f, 0.0005f, 1f]);
        using var engine = new CpuEngine(architecture, TestArchitectures.Masks(architecture), Setups[setup]);
        ((INetworkEngine)engine).SetStandardization([.. statistics.Mean], [.. statistics.StandardDeviation]);
        engine.WriteParameters(TestArchitectures.RandomParameters(architecture, seed: 47));
        ReferenceNetwork reference = TestArchitectures.RandomReference(architecture, seed: 47);
        reference.Standardization = statistics;
        float[] inputs = [.. Enumerable.Range(0, 8 * 5).Select(i => statistics.Mean[i % 5] + (i % 7 - 3) * 0.5f * statistics.StandardDeviation[i % 5])];
        int[] labels = [.. Enumerable.Range(0, 8).Select(s => s % 3)];
        var certified = new CertifiedStep(0.3f, 0.25f, float.NegativeInfinity, float.PositiveInfinity);
        OptimizerStep step = new Adam(0.01f).ToStep(0.01f, 1);

        float loss = engine.TrainBatchCertified(inputs, labels, 8, certified, step);

        var lower = new float[inputs.Length];
        var upper = new float[inputs.Length];
        IntervalBoxes.Around(inputs, certified.Epsilon, certified.ClipMin, certified.ClipMax, lower, upper);
        ReferenceGradients expected = reference.CertifiedGradients(Widen(inputs), Widen(lower), Widen(upper), labels, 8, certified.Kappa);
        reference.Step(expected.Parameters, step);
        AssertClose(expected.Loss, loss, "loss");
        var parameters = new float[architecture.ParameterCount];
        engine.ReadParameters(parameters);
        for (int p = 0; p < parameters.Length; p++)
        {
            AssertClose(reference.Parameters[p], parameters[p], $"parameter {p}");
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

    // Every network and every rule, not every pair: the simulator takes up to a minute for a strided convolution's steps.
    public static TheoryData<string, string> EveryNetworkAndEveryRule() => new()
    {
        { "Mlp, Relu (elided)", "Sgd" },
        { "Mlp, Relu (elided)", "Adam" },
        { "Mlp, Relu (elided)", "AdamW" },
        { "Mlp, Gelu into a tanh output (not elided)", "Adam" },
        { "Masked Mlp", "AdamW" },
        { "ConvNet, LeakyRelu", "Sgd" },
        { "ConvNet, Gelu", "Adam" },
        { "StridedConvNet, masked", "Sgd" },
    };

    [Theory]
    [MemberData(nameof(EveryNetworkAndEveryRule))]
    public void Certified_steps_on_the_ilgpu_simulator_match_the_reference(string network, string rule)
    {
        // The GPU kernels through every kind, with and without the elision, masks, the clip range and κ = 0 (boxes only)
        // and 1 (points only), under each update rule; the simulator runs the kernels a GPU would.
        NetworkArchitecture architecture = Networks[network]();
        Accelerator accelerator = IlgpuDevices.TryGet(Backend.IlgpuCpu, out string whyNot) ?? throw new InvalidOperationException(whyNot);
        using INetworkEngine engine = new IlgpuEngine(Backend.IlgpuCpu, accelerator, architecture, TestArchitectures.Masks(architecture));
        engine.WriteParameters(TestArchitectures.RandomParameters(architecture, seed: 45));
        ReferenceNetwork reference = TestArchitectures.RandomReference(architecture, seed: 45);
        Optimizer optimizer = rule switch
        {
            "Sgd" => new Sgd(0.05f, momentum: 0.9f, weightDecay: 0.01f),
            "Adam" => new Adam(0.01f, weightDecay: 0.01f),
            _ => new AdamW(0.01f),
        };
        CertifiedStep[] steps = [new(0.1f, 0.4f, -1, 1), new(0.05f, 0f, float.NegativeInfinity, float.PositiveInfinity), new(0.2f, 1f, -0.9f, 0.9f)];
        for (int s = 0; s < steps.Length; s++)
        {
            TestBatch batch = TestArchitectures.RandomBatch(architecture, 5 + 4 * s, seed: 70 + s);
            if (steps[s].ClipMin == -0.9f)
            {
                ClampInto(batch.Inputs, -0.9f, 0.9f);
            }

            OptimizerStep step = optimizer.ToStep(optimizer.LearningRate, s + 1);
            float loss = engine.TrainBatchCertified(batch.Inputs, batch.Labels, batch.Size, steps[s], step);

            AssertClose(ReferenceCertifiedStep(reference, batch, steps[s], step), loss, $"{rule}: loss of step {s}");
        }

        var parameters = new float[architecture.ParameterCount];
        var momentum = new float[architecture.ParameterCount];
        engine.ReadParameters(parameters);
        engine.ReadMomentum(momentum);
        for (int p = 0; p < parameters.Length; p++)
        {
            AssertClose(reference.Parameters[p], parameters[p], $"{rule}: parameter {p} after {steps.Length} steps");
            AssertClose(reference.Momentum[p], momentum[p], $"{rule}: first moment {p} after {steps.Length} steps");
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
    public void A_network_that_standardizes_takes_the_same_certified_step_on_the_ilgpu_simulator_as_on_the_cpu()
    {
        NetworkArchitecture architecture = Training.StandardizedClassifier.Definition;
        var statistics = new Standardization([0.5f, -2f, 1000f, 0.001f, 0f], [2f, 0.25f, 300f, 0.0005f, 1f]);
        Accelerator accelerator = IlgpuDevices.TryGet(Backend.IlgpuCpu, out string whyNot) ?? throw new InvalidOperationException(whyNot);
        using INetworkEngine gpu = new IlgpuEngine(Backend.IlgpuCpu, accelerator, architecture, TestArchitectures.Masks(architecture));
        using INetworkEngine cpu = new CpuEngine(architecture, TestArchitectures.Masks(architecture), Setups["Scalar, 1 thread"]);
        float[] inputs = [.. Enumerable.Range(0, 8 * 5).Select(i => statistics.Mean[i % 5] + (i % 7 - 3) * 0.5f * statistics.StandardDeviation[i % 5])];
        int[] labels = [.. Enumerable.Range(0, 8).Select(s => s % 3)];
        var certified = new CertifiedStep(0.3f, 0.25f, float.NegativeInfinity, float.PositiveInfinity);
        OptimizerStep step = new Adam(0.01f).ToStep(0.01f, 1);
        var losses = new float[2];
        var parameters = new float[2][];
        int e = 0;
        foreach (INetworkEngine engine in new[] { cpu, gpu })
        {
            engine.SetStandardization([.. statistics.Mean], [.. statistics.StandardDeviation]);
            engine.WriteParameters(TestArchitectures.RandomParameters(architecture, seed: 47));
            losses[e] = engine.TrainBatchCertified(inputs, labels, 8, certified, step);
            engine.ReadParameters(parameters[e] = new float[architecture.ParameterCount]);
            e++;
        }

        AssertClose(losses[0], losses[1], "loss");
        for (int p = 0; p < architecture.ParameterCount; p++)
        {
            AssertClose(parameters[0][p], parameters[1][p], $"parameter {p}");
        }
    }

    [Fact]
    public void A_certified_step_that_goes_non_finite_on_the_ilgpu_simulator_is_dropped()
    {
        NetworkArchitecture architecture = TestArchitectures.Mlp(Activation.Relu, Loss.SoftmaxCrossEntropy);
        Accelerator accelerator = IlgpuDevices.TryGet(Backend.IlgpuCpu, out string whyNot) ?? throw new InvalidOperationException(whyNot);
        using INetworkEngine engine = new IlgpuEngine(Backend.IlgpuCpu, accelerator, architecture, TestArchitectures.Masks(architecture));
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

    /// <summary>The reference's certified step on <paramref name="batch"/>, over the boxes the engines build; returns its loss.</summary>
    private static double ReferenceCertifiedStep(ReferenceNetwork reference, TestBatch batch, CertifiedStep certified, OptimizerStep step)
    {
        var lower = new float[batch.Inputs.Length];
        var upper = new float[batch.Inputs.Length];
        IntervalBoxes.Around(batch.Inputs, certified.Epsilon, certified.ClipMin, certified.ClipMax, lower, upper);
        ReferenceGradients expected = reference.CertifiedGradients(batch.InputsAsDouble, Widen(lower), Widen(upper), batch.Labels, batch.Size, certified.Kappa);
        reference.Step(expected.Parameters, step);
        return expected.Loss;
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
