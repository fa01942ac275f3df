using System.Collections.Immutable;
using FusedNets.Backends;
using FusedNets.Backends.Cpu;
using FusedNets.Generated;
using FusedNets.Reference;
using FusedNets.Tests.Cpu;
using FusedNets.Tests.Reference;

namespace FusedNets.Tests.Pde;

/// <summary>
/// Physics-informed training on the CPU engine against the double-precision reference: the derivatives it carries, the
/// loss, its gradient and the optimizer step, for every activation, equation, vector width and thread count.
/// </summary>
public class CpuPdeTests
{
    private static readonly ImmutableDictionary<string, CpuEngineOptions> Setups = new Dictionary<string, CpuEngineOptions>
    {
        ["Avx512, 1 thread"] = new() { Width = VectorWidth.Vector512, Threads = 1 },
        ["Avx512, 3 threads"] = new() { Width = VectorWidth.Vector512, Threads = 3, ParallelFlops = 0 },
        ["Avx2, 2 threads"] = new() { Width = VectorWidth.Vector256, Threads = 2, ParallelFlops = 0 },
        ["Scalar, 3 threads"] = new() { Width = VectorWidth.Scalar, Threads = 3, ParallelFlops = 0 },
    }.ToImmutableDictionary();

    public static TheoryData<Activation, string> EveryActivationWithEveryEquation => PdeCases.EveryActivationWithEveryEquation();

    public static TheoryData<string, string> EverySetupWithEveryEquation()
    {
        var data = new TheoryData<string, string>();
        foreach (string setup in Setups.Keys)
        {
            foreach (string equation in PdeCases.Equations)
            {
                data.Add(setup, equation);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EveryActivationWithEveryEquation))]
    public void The_derivatives_loss_and_gradient_match_the_reference_for_every_activation(Activation activation, string equation)
    {
        NetworkArchitecture architecture = PdeCases.Mlp(PdeCases.Inputs(equation), activation);
        AssertMatchesReference(architecture, equation, Setups["Avx512, 3 threads"], counts: [13, 5, 3]);
    }

    [Theory]
    [MemberData(nameof(EverySetupWithEveryEquation))]
    public void The_derivatives_loss_and_gradient_match_the_reference_at_every_width_and_thread_count(string setup, string equation)
    {
        NetworkArchitecture architecture = PdeCases.Mlp(PdeCases.Inputs(equation), Activation.Tanh);
        AssertMatchesReference(architecture, equation, Setups[setup], counts: [37, 1, 17]);
    }

    [Fact]
    public void A_masked_layer_keeps_its_masked_weights_at_zero_and_gets_no_gradient_there()
    {
        NetworkArchitecture architecture = PdeCases.Mlp(3, Activation.Softplus, LayerMask.Random(0.4, 2));
        AssertMatchesReference(architecture, "Heat", Setups["Avx2, 2 threads"], counts: [11, 6, 4]);
    }

    [Fact]
    public void A_single_layer_network_is_both_first_and_last()
    {
        // The output layer's backward then reads the first layer's weights as its derivative channels.
        NetworkArchitecture architecture = new("Single", Loss.MeanSquaredError, "X", 2, [new DenseLayerArchitecture("U", 1, 2, Activation.Tanh, LayerMask.None)]);
        AssertMatchesReference(architecture, "Burgers", Setups["Avx512, 1 thread"], counts: [9, 4, 3]);
    }

    [Theory]
    [MemberData(nameof(EveryActivationWithEveryEquation))]
    public void Optimizer_steps_match_the_reference(Activation activation, string equation)
    {
        NetworkArchitecture architecture = PdeCases.Mlp(PdeCases.Inputs(equation), activation);
        ReferenceNetwork reference = TestArchitectures.RandomReference(architecture, seed: 5);
        var referencePde = new ReferencePde(reference, PdeCases.Program(equation));
        using CpuEngine engine = CpuEngineTests.CreateEngine(architecture, Setups["Avx2, 2 threads"], seed: 5);
        IPdeEngine pde = engine.Pde(PdeCases.Program(equation));
        SgdStep sgd = new Sgd(0.01f, momentum: 0.9f, nesterov: true, weightDecay: 1e-3f).ToStep();
        var losses = new double[3];
        for (int step = 0; step < 3; step++)
        {
            PdeBatch batch = PdeCases.Batch(equation, seed: 40 + step, 10, 4);
            (double expected, double[] gradient) = referencePde.Gradients(batch, losses);
            reference.Step(gradient, sgd);
            float loss = pde.TrainStep(batch, sgd, losses);
            Assert.True(Math.Abs(loss - expected) <= 1e-4 * (1 + Math.Abs(expected)), $"step {step}: loss {loss}, reference {expected}");
        }

        CpuEngineTests.AssertClose(reference.Parameters, CpuEngineTests.ReadParameters(engine, architecture), 2e-4);
        var momentum = new float[architecture.ParameterCount];
        engine.ReadMomentum(momentum);
        CpuEngineTests.AssertClose(reference.Momentum, momentum, 2e-4);
    }

    [Theory]
    [InlineData("Poisson")]
    [InlineData("Burgers")]
    public void Results_are_the_same_bits_on_any_number_of_threads(string equation)
    {
        NetworkArchitecture architecture = PdeCases.Mlp(PdeCases.Inputs(equation), Activation.Gelu);
        float[] Train(int threads)
        {
            using CpuEngine engine = CpuEngineTests.CreateEngine(architecture, new CpuEngineOptions { Width = VectorWidth.Vector512, Threads = threads, ParallelFlops = 0 }, seed: 8);
            IPdeEngine pde = engine.Pde(PdeCases.Program(equation));
            for (int step = 0; step < 3; step++)
            {
                pde.TrainStep(PdeCases.Batch(equation, seed: step, 29, 7), new Sgd(0.02f, momentum: 0.9f).ToStep(), new double[3]);
            }

            return CpuEngineTests.ReadParameters(engine, architecture);
        }

        float[] one = Train(1);
        Assert.Equal(one, Train(2));
        Assert.Equal(one, Train(3));
    }

    [Fact]
    public void A_step_whose_update_overflows_is_dropped_and_leaves_parameters_and_momentum_as_they_were()
    {
        NetworkArchitecture architecture = PdeCases.Mlp(2, Activation.Tanh);
        using CpuEngine engine = CpuEngineTests.CreateEngine(architecture, Setups["Avx512, 3 threads"], seed: 3);
        IPdeEngine pde = engine.Pde(PdeCases.Program("Poisson"));
        PdeBatch batch = PdeCases.Batch("Poisson", seed: 1, 8, 8);
        pde.TrainStep(batch, new Sgd(0.001f, momentum: 0.9f).ToStep(), new double[2]);
        float[] before = CpuEngineTests.ReadParameters(engine, architecture);
        var momentumBefore = new float[before.Length];
        engine.ReadMomentum(momentumBefore);

        float loss = pde.TrainStep(batch, new Sgd(3e38f).ToStep(), new double[2]);

        Assert.True(float.IsNaN(loss));
        Assert.Equal(before, CpuEngineTests.ReadParameters(engine, architecture));
        var momentum = new float[before.Length];
        engine.ReadMomentum(momentum);
        Assert.Equal(momentumBefore, momentum);
    }

    private static void AssertMatchesReference(NetworkArchitecture architecture, string equation, CpuEngineOptions options, int[] counts)
    {
        using CpuEngine engine = CpuEngineTests.CreateEngine(architecture, options, seed: 4);
        PdeCases.AssertEngineMatchesReference(engine.Pde(PdeCases.Program(equation)), PdeCases.Reference(equation, architecture, seed: 4), PdeCases.Batch(equation, seed: 6, counts));
    }
}
