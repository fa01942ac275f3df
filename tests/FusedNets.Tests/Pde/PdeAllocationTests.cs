using FusedNets.Backends;
using FusedNets.Backends.Cpu;
using FusedNets.Tests.Cpu;

namespace FusedNets.Tests.Pde;

/// <summary>Runs with the CPU allocation tests, alone: the allocation counter is process-wide.</summary>
[Collection(nameof(CpuAllocationTests))]
public class PdeAllocationTests
{
    [Theory]
    [InlineData("Poisson")]
    [InlineData("Burgers")]
    public void A_physics_informed_training_step_allocates_nothing_after_warm_up(string equation)
    {
        NetworkArchitecture architecture = PdeCases.Mlp(PdeCases.Inputs(equation), Activation.Tanh);
        using CpuEngine engine = CpuEngineTests.CreateEngine(architecture, new CpuEngineOptions { Threads = 2, ParallelFlops = 0 }, seed: 1);
        IPdeEngine pde = engine.Pde(PdeCases.Program(equation));
        PdeBatch batch = PdeCases.Batch(equation, seed: 2, 100, 30);
        SgdStep sgd = new Sgd(0.001f, momentum: 0.9f).ToStep();
        var losses = new double[batch.Terms.Length];
        var gradient = new float[architecture.ParameterCount];

        void RunEverything()
        {
            for (int step = 0; step < 20; step++)
            {
                pde.TrainStep(batch, sgd, losses);
                pde.Gradient(batch, gradient, losses);
            }
        }

        RunEverything();
        Thread.Sleep(20);
        RunEverything();
        Thread.Sleep(20);

        long quietest = long.MaxValue;
        for (int attempt = 0; attempt < 10 && quietest > 0; attempt++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            RunEverything();
            quietest = Math.Min(quietest, GC.GetTotalAllocatedBytes(precise: true) - before);
        }

        Assert.Equal(0, quietest);
    }
}
