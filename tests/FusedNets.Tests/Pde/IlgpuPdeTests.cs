using FusedNets.Backends;
using FusedNets.Backends.Cpu;
using FusedNets.Gpu;
using FusedNets.Reference;
using FusedNets.Tests.Cpu;
using FusedNets.Tests.Reference;
using ILGPU.Runtime;

namespace FusedNets.Tests.Pde;

/// <summary>
/// Physics-informed training in FusedNets.Gpu's kernels, run on ILGPU's CPU accelerator, against the double-precision
/// reference: the same checks as the CPU engine's, on fewer cases (the simulator is slow).
/// </summary>
public class IlgpuPdeTests
{
    public static TheoryData<Activation> EveryActivation => [.. TestArchitectures.EveryActivation];

    public static TheoryData<string> EveryEquation => [.. PdeCases.Equations];

    [Theory]
    [MemberData(nameof(EveryActivation))]
    public void The_derivatives_loss_and_gradient_match_the_reference_for_every_activation(Activation activation) =>
        AssertMatchesReference(PdeCases.Mlp(2, activation), "Poisson", [9, 5]);

    [Theory]
    [MemberData(nameof(EveryEquation))]
    public void The_derivatives_loss_and_gradient_match_the_reference_for_every_equation(string equation) =>
        AssertMatchesReference(PdeCases.Mlp(PdeCases.Inputs(equation), Activation.Gelu), equation, [7, 3, 4]);

    [Fact]
    public void A_masked_layer_gets_no_gradient_at_its_masked_weights() =>
        AssertMatchesReference(PdeCases.Mlp(3, Activation.Sigmoid, LayerMask.Random(0.5, 4)), "Heat", [6, 3, 2]);

    [Fact]
    public void Optimizer_steps_match_the_reference_and_a_diverging_step_is_undone()
    {
        NetworkArchitecture architecture = PdeCases.Mlp(2, Activation.Tanh);
        using IlgpuEngine engine = Create(architecture, out ReferenceNetwork reference);
        var referencePde = new ReferencePde(reference, PdeCases.Program("Burgers"));
        IPdeEngine pde = ((IPdeEngineSource)engine).Pde(PdeCases.Program("Burgers"));
        SgdStep sgd = new Sgd(0.01f, momentum: 0.9f, weightDecay: 1e-3f).ToStep();
        var losses = new double[3];
        for (int step = 0; step < 2; step++)
        {
            PdeBatch batch = PdeCases.Batch("Burgers", seed: 20 + step, 8, 3);
            (double expected, double[] gradient) = referencePde.Gradients(batch, losses);
            reference.Step(gradient, sgd);
            float loss = pde.TrainStep(batch, sgd, losses);
            Assert.True(Math.Abs(loss - expected) <= 1e-4 * (1 + Math.Abs(expected)), $"step {step}: loss {loss}, reference {expected}");
        }

        float[] parameters = Read(engine, architecture);
        CpuEngineTests.AssertClose(reference.Parameters, parameters, 2e-4);

        float diverged = pde.TrainStep(PdeCases.Batch("Burgers", seed: 1, 8, 3), new Sgd(3e38f).ToStep(), losses);

        Assert.True(float.IsNaN(diverged));
        Assert.Equal(parameters, Read(engine, architecture));
    }

    [Fact]
    public void Adam_steps_match_the_cpu_engines_and_a_diverging_one_is_undone_with_both_moments()
    {
        NetworkArchitecture architecture = PdeCases.Mlp(2, Activation.Tanh);
        using IlgpuEngine engine = Create(architecture, out _);
        using CpuEngine cpu = CpuEngineTests.CreateEngine(architecture, new CpuEngineOptions { Threads = 1 }, seed: 4);
        IPdeEngine pde = ((IPdeEngineSource)engine).Pde(PdeCases.Program("Burgers"));
        IPdeEngine cpuPde = cpu.Pde(PdeCases.Program("Burgers"));
        var adam = new AdamW(0.01f, weightDecay: 0.1f);
        var losses = new double[3];

        // Three steps: the later ones read the moments the earlier ones wrote, and the bias corrections of their t.
        for (int step = 1; step <= 3; step++)
        {
            PdeBatch batch = PdeCases.Batch("Burgers", seed: 30 + step, 8, 3);
            float expected = cpuPde.TrainStep(batch, adam.ToStep(adam.LearningRate, step), losses);
            float loss = pde.TrainStep(batch, adam.ToStep(adam.LearningRate, step), losses);
            Assert.True(Math.Abs(loss - expected) <= 1e-4 * (1 + Math.Abs(expected)), $"step {step}: loss {loss}, CPU engine {expected}");
        }

        float[] parameters = Read(engine, architecture), moments = new float[parameters.Length], secondMoments = new float[parameters.Length];
        float[] cpuMoments = new float[parameters.Length], cpuSecondMoments = new float[parameters.Length];
        engine.ReadMomentum(moments);
        engine.ReadSecondMoment(secondMoments);
        cpu.ReadMomentum(cpuMoments);
        cpu.ReadSecondMoment(cpuSecondMoments);
        CpuEngineTests.AssertClose([.. CpuEngineTests.ReadParameters(cpu, architecture).Select(value => (double)value)], parameters, 1e-4);
        CpuEngineTests.AssertClose([.. cpuMoments.Select(value => (double)value)], moments, 1e-4);
        CpuEngineTests.AssertClose([.. cpuSecondMoments.Select(value => (double)value)], secondMoments, 1e-4);

        float diverged = pde.TrainStep(PdeCases.Batch("Burgers", seed: 1, 8, 3), new Adam(3e38f).ToStep(3e38f, 4), losses);

        Assert.True(float.IsNaN(diverged));
        Assert.Equal(parameters, Read(engine, architecture));
        var after = new float[parameters.Length];
        engine.ReadMomentum(after);
        Assert.Equal(moments, after);
        engine.ReadSecondMoment(after);
        Assert.Equal(secondMoments, after);
    }

    [Fact]
    public void A_step_diverging_after_a_diverged_step_and_new_parameters_returns_to_the_new_parameters()
    {
        NetworkArchitecture architecture = PdeCases.Mlp(2, Activation.Tanh);
        using IlgpuEngine engine = Create(architecture, out _);
        IPdeEngine pde = ((IPdeEngineSource)engine).Pde(PdeCases.Program("Poisson"));
        SgdStep diverging = new Sgd(3e38f).ToStep();
        var losses = new double[2];
        Assert.True(float.IsNaN(pde.TrainStep(PdeCases.Batch("Poisson", seed: 1, 8, 3), diverging, losses)));
        float[] written = TestArchitectures.RandomParameters(architecture, seed: 9);
        engine.WriteParameters(written);

        float diverged = pde.TrainStep(PdeCases.Batch("Poisson", seed: 2, 8, 3), diverging, losses);

        Assert.True(float.IsNaN(diverged));
        Assert.Equal(written, Read(engine, architecture));
    }

    private static void AssertMatchesReference(NetworkArchitecture architecture, string equation, int[] counts)
    {
        using IlgpuEngine engine = Create(architecture, out ReferenceNetwork reference);
        IPdeEngine pde = ((IPdeEngineSource)engine).Pde(PdeCases.Program(equation));
        PdeCases.AssertEngineMatchesReference(pde, new ReferencePde(reference, PdeCases.Program(equation)), PdeCases.Batch(equation, seed: 6, counts));
    }

    private static IlgpuEngine Create(NetworkArchitecture architecture, out ReferenceNetwork reference)
    {
        Accelerator accelerator = IlgpuDevices.TryGet(Backend.IlgpuCpu, out string whyNot) ?? throw new InvalidOperationException(whyNot);
        float[]?[] masks = TestArchitectures.Masks(architecture);
        var engine = new IlgpuEngine(Backend.IlgpuCpu, accelerator, architecture, masks);
        float[] parameters = TestArchitectures.RandomParameters(architecture, seed: 4);
        engine.WriteParameters(parameters);
        reference = new ReferenceNetwork(architecture, parameters, masks);
        return engine;
    }

    private static float[] Read(IlgpuEngine engine, NetworkArchitecture architecture)
    {
        var parameters = new float[architecture.ParameterCount];
        engine.ReadParameters(parameters);
        return parameters;
    }
}
