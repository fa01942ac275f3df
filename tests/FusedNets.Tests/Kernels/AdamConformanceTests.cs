using FusedNets.Backends;
using FusedNets.Backends.Cpu;
using FusedNets.Gpu;
using FusedNets.Reference;
using FusedNets.Tests.Cpu;
using FusedNets.Tests.Reference;
using ILGPU.Runtime;

namespace FusedNets.Tests.Kernels;

/// <summary>
/// Every engine (the CPU engine at every vector width and thread count, and the ILGPU kernels on ILGPU's CPU simulator)
/// takes the reference's Adam and AdamW steps, for dense and convolutional networks with and without masks. The
/// reference's Adam is PyTorch's documented algorithm in double precision (<see cref="ReferenceAdamTests"/> checks it
/// against a second implementation of that pseudocode), so over a few hundred steps the engines follow PyTorch's rule to
/// float rounding.
/// </summary>
public class AdamConformanceTests
{
    // Float against double after a few steps, as the SGD conformance tests allow.
    private const double StepTolerance = 1e-4;

    // Float against double after 300 steps: the largest error measured was 5e-6 (relative to 1 + |w|), on the conv net
    // with AdamW, whose decay factor 1 − γλ rounds to float as it does in PyTorch.
    private const double TrajectoryTolerance = 2e-5;

    private static readonly Dictionary<string, Func<NetworkArchitecture>> Networks = new()
    {
        ["Dense"] = () => TestArchitectures.Mlp(Activation.Gelu, Loss.SoftmaxCrossEntropy, output: Activation.Tanh),
        ["Dense, random mask"] = () => TestArchitectures.Masked("Random", Loss.MeanSquaredError),
        ["ConvNet, random mask"] = () => TestArchitectures.ConvNet(Activation.Relu, Loss.SoftmaxCrossEntropy, TestArchitectures.Mask("Random")),
        ["StridedConvNet, banded mask"] = () => TestArchitectures.StridedConvNet(Loss.MeanSquaredError, TestArchitectures.Mask("Banded")),
    };

    public static TheoryData<string> Engines() => [.. CpuEngineTests.Setups.Keys.Order(), "IlgpuCpu"];

    public static TheoryData<string, string> EnginesAndNetworks()
    {
        var data = new TheoryData<string, string>();
        foreach (string engine in Engines())
        {
            foreach (string network in Networks.Keys)
            {
                data.Add(engine, network);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EnginesAndNetworks))]
    public void Adam_and_AdamW_take_the_references_steps_and_masked_weights_and_their_moments_stay_exactly_zero(string engineName, string network)
    {
        NetworkArchitecture architecture = Networks[network]();
        // The simulator's conv weight updates (a group of 128 threads per weight, reduced with barriers) take minutes
        // per step on two busy cores, so there the conv nets take one rule each: Adam's L2 decay on one, AdamW's
        // decoupled decay on the other; the dense networks take both everywhere.
        Optimizer[] optimizers = (engineName, network) switch
        {
            ("IlgpuCpu", "ConvNet, random mask") => [new Adam(0.01f, weightDecay: 0.01f)],
            ("IlgpuCpu", "StridedConvNet, banded mask") => [new AdamW(0.01f, weightDecay: 0.1f)],
            _ => [new Adam(0.01f, weightDecay: 0.01f), new AdamW(0.01f, weightDecay: 0.1f)],
        };
        foreach (Optimizer optimizer in optimizers)
        {
            using INetworkEngine engine = Create(engineName, architecture, out ReferenceNetwork reference);
            for (int t = 1; t <= 3; t++)
            {
                TestBatch batch = TestArchitectures.RandomBatch(architecture, 6, seed: 30 + t);
                OptimizerStep step = optimizer.ToStep(optimizer.LearningRate, t);

                float loss = engine.TrainBatch(batch.Inputs, batch.Labels, batch.Targets, batch.Size, step);

                CpuEngineTests.AssertClose([reference.TrainBatch(batch, step)], [loss], StepTolerance);
            }

            (float[] parameters, float[] moment, float[] secondMoment) = State(engine, architecture);
            CpuEngineTests.AssertClose(reference.Parameters, parameters, StepTolerance);
            CpuEngineTests.AssertClose(reference.Momentum, moment, StepTolerance);
            CpuEngineTests.AssertClose(reference.SecondMoment, secondMoment, StepTolerance);
            AssertMaskedEntriesAreZero(architecture, parameters, moment, secondMoment);
        }
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void Three_hundred_Adam_steps_of_a_dense_network_follow_the_reference_to_float_rounding(string engine)
    {
        AssertTrajectoryFollowsReference(engine, TestArchitectures.Mlp(Activation.Tanh, Loss.MeanSquaredError), new Adam(), steps: 300);
    }

    [Theory]
    [MemberData(nameof(CpuSetups))]
    public void Three_hundred_AdamW_steps_of_a_conv_net_follow_the_reference_to_float_rounding(string setup)
    {
        // ILGPU's simulator runs a conv net's steps slowly; it takes the few steps of the theory above.
        NetworkArchitecture architecture = TestArchitectures.ConvNet(Activation.Relu, Loss.SoftmaxCrossEntropy, TestArchitectures.Mask("Random"));
        AssertTrajectoryFollowsReference(setup, architecture, new AdamW(0.01f, weightDecay: 0.1f), steps: 300);
    }

    public static TheoryData<string> CpuSetups() => [.. CpuEngineTests.Setups.Keys.Order()];

    [Fact]
    public void The_thread_count_changes_no_bit_of_Adams_parameters_or_moments()
    {
        NetworkArchitecture architecture = CpuKernelTests.WideArchitecture();
        var adam = new Adam(0.01f, weightDecay: 0.01f);
        (float[], float[], float[]) Train(CpuEngineOptions options)
        {
            using var engine = new CpuEngine(architecture, TestArchitectures.Masks(architecture), options);
            engine.WriteParameters(TestArchitectures.RandomParameters(architecture, seed: 6));
            for (int t = 1; t <= 5; t++)
            {
                TestBatch batch = TestArchitectures.RandomBatch(architecture, 50 + t, seed: t);
                engine.TrainBatch(batch.Inputs, batch.Labels, batch.Targets, batch.Size, adam.ToStep(adam.LearningRate, t));
            }

            return State(engine, architecture);
        }

        (float[] parameters, float[] moment, float[] secondMoment) = Train(new CpuEngineOptions { Threads = 1 });
        (float[] parameters3, float[] moment3, float[] secondMoment3) = Train(new CpuEngineOptions { Threads = 3, ParallelFlops = 0 });
        Assert.Equal(parameters, parameters3);
        Assert.Equal(moment, moment3);
        Assert.Equal(secondMoment, secondMoment3);
    }

    private static void AssertTrajectoryFollowsReference(string engineName, NetworkArchitecture architecture, Optimizer optimizer, int steps)
    {
        using INetworkEngine engine = Create(engineName, architecture, out ReferenceNetwork reference);
        for (int t = 1; t <= steps; t++)
        {
            TestBatch batch = TestArchitectures.RandomBatch(architecture, 8, seed: 1000 + t % 37);
            OptimizerStep step = optimizer.ToStep(optimizer.LearningRate, t);
            reference.TrainBatch(batch, step);
            engine.TrainBatch(batch.Inputs, batch.Labels, batch.Targets, batch.Size, step);
            if (t % 50 == 0)
            {
                var parameters = new float[architecture.ParameterCount];
                engine.ReadParameters(parameters);
                CpuEngineTests.AssertClose(reference.Parameters, parameters, TrajectoryTolerance);
            }
        }
    }

    /// <summary>An engine with random parameters, and a reference network holding the same ones.</summary>
    private static INetworkEngine Create(string engine, NetworkArchitecture architecture, out ReferenceNetwork reference)
    {
        float[]?[] masks = TestArchitectures.Masks(architecture);
        INetworkEngine created = engine == "IlgpuCpu"
            ? new IlgpuEngine(Backend.IlgpuCpu, IlgpuDevices.TryGet(Backend.IlgpuCpu, out string whyNot) ?? throw new InvalidOperationException(whyNot), architecture, masks)
            : new CpuEngine(architecture, masks, CpuEngineTests.Setups[engine]);
        float[] parameters = TestArchitectures.RandomParameters(architecture, seed: 5);
        created.WriteParameters(parameters);
        reference = new ReferenceNetwork(architecture, parameters, masks);
        return created;
    }

    private static (float[] Parameters, float[] Moment, float[] SecondMoment) State(INetworkEngine engine, NetworkArchitecture architecture)
    {
        (float[] parameters, float[] moment, float[] secondMoment) = (new float[architecture.ParameterCount], new float[architecture.ParameterCount], new float[architecture.ParameterCount]);
        engine.ReadParameters(parameters);
        engine.ReadMomentum(moment);
        engine.ReadSecondMoment(secondMoment);
        return (parameters, moment, secondMoment);
    }

    private static void AssertMaskedEntriesAreZero(NetworkArchitecture architecture, params float[][] vectors)
    {
        float[]?[] masks = TestArchitectures.Masks(architecture);
        for (int l = 0; l < masks.Length; l++)
        {
            for (int i = 0; masks[l] is { } mask && i < mask.Length; i++)
            {
                int p = architecture.WeightOffset(l) + i;
                if (mask[i] == 0)
                {
                    Assert.All(vectors, vector => Assert.Equal(0f, vector[p]));
                }
            }
        }
    }
}
