using FusedNets.Backends.Cpu;
using FusedNets.Tests.Networks;
using FusedNets.Tests.Reference;
using Xunit;

namespace FusedNets.Tests.Cpu;

/// <summary>Runs alone: the allocation counter is process-wide, and tests running beside it would allocate into it.</summary>
[CollectionDefinition(nameof(CpuAllocationTests), DisableParallelization = true)]
public sealed class CpuAllocationCollection;

[Collection(nameof(CpuAllocationTests))]
public class CpuAllocationTests
{
    [Fact]
    public void Training_and_single_sample_prediction_allocate_nothing_after_warm_up()
    {
        NetworkArchitecture architecture = CpuKernelTests.WideArchitecture();
        TestBatch batch = TestArchitectures.RandomBatch(architecture, 64, seed: 1);
        using CpuEngine engine = CpuEngineTests.CreateEngine(architecture, new CpuEngineOptions { Threads = 2, ParallelFlops = 0 }, seed: 1);
        SgdStep sgd = new Sgd(0.01f, momentum: 0.9f).ToStep();
        var output = new float[architecture.OutputSize];
        var outputs = new float[batch.Size * architecture.OutputSize];
        var losses = new float[batch.Size];

        void RunEverything()
        {
            for (int step = 0; step < 20; step++)
            {
                engine.TrainBatch(batch.Inputs, batch.Labels, batch.Targets, batch.Size, sgd);
                engine.Predict(batch.Inputs.AsSpan(0, architecture.InputSize), output, 1);
                engine.Evaluate(batch.Inputs, batch.Labels, batch.Targets, batch.Size, outputs, losses);
            }
        }

        // Warm up everything that happens once: the workspace, tiered compilation, and the workers'
        // first sleep and wake-up (the pause is longer than they spin).
        RunEverything();
        Thread.Sleep(20);
        RunEverything();
        Thread.Sleep(20);

        Assert.Equal(0, QuietestAllocation(RunEverything));
    }

    [Fact]
    public void A_conv_net_trains_and_predicts_one_sample_without_allocating_after_warm_up()
    {
        NetworkArchitecture architecture = CpuConvolutionTests.LeNet(LayerMask.Random(0.5, 1));
        TestBatch batch = TestArchitectures.RandomBatch(architecture, 64, seed: 1);
        using CpuEngine engine = CpuEngineTests.CreateEngine(architecture, new CpuEngineOptions { Threads = 2, ParallelFlops = 0 }, seed: 1);
        SgdStep sgd = new Sgd(0.01f, momentum: 0.9f).ToStep();
        var output = new float[architecture.OutputSize];
        var gradient = new float[batch.Inputs.Length];

        void RunEverything()
        {
            for (int step = 0; step < 5; step++)
            {
                engine.TrainBatch(batch.Inputs, batch.Labels, batch.Targets, batch.Size, sgd);
                engine.Predict(batch.Inputs.AsSpan(0, architecture.InputSize), output, 1);
                engine.InputGradient(batch.Inputs, batch.Labels, batch.Targets, batch.Size, gradient);
            }
        }

        RunEverything();
        Thread.Sleep(20);
        RunEverything();
        Thread.Sleep(20);

        Assert.Equal(0, QuietestAllocation(RunEverything));
    }

    [Fact]
    public void The_generated_single_sample_Predict_and_TrainBatch_allocate_nothing_after_warm_up()
    {
        // Once broke: the shape checks formatted their error message before knowing there was an error.
        using var network = new MnistMlp(seed: 1, Backend.Cpu);
        TestBatch batch = TestArchitectures.RandomBatch(network.Architecture, 16, seed: 2);
        MnistMlp.Input sample = MnistMlp.Input.From(batch.Inputs.AsSpan(0, MnistMlp.InputSize));
        var sgd = new Sgd(0.01f, momentum: 0.9f);

        AssertGeneratedStepsAllocateNothing(() => network.TrainBatch(batch.Inputs, batch.Labels, sgd) + network.Predict(sample)[0]);
    }

    [Fact]
    public void The_generated_LeNet_single_sample_Predict_and_TrainBatch_allocate_nothing_after_warm_up()
    {
        using var network = new LeNet(seed: 1, Backend.Cpu);
        TestBatch batch = TestArchitectures.RandomBatch(network.Architecture, 16, seed: 2);
        LeNet.Input sample = LeNet.Input.From(batch.Inputs.AsSpan(0, LeNet.InputSize));
        var sgd = new Sgd(0.01f, momentum: 0.9f);

        AssertGeneratedStepsAllocateNothing(() => network.TrainBatch(batch.Inputs, batch.Labels, sgd) + network.Predict(sample)[0]);
    }

    /// <summary>Runs <paramref name="step"/> (a training step and a prediction through a generated class) until warm, then asserts it allocates nothing.</summary>
    private static void AssertGeneratedStepsAllocateNothing(Func<float> step)
    {
        float sink = 0;

        void RunEverything()
        {
            for (int i = 0; i < 20; i++)
            {
                sink += step();
            }
        }

        RunEverything();
        Thread.Sleep(20);
        RunEverything();
        Thread.Sleep(20);

        Assert.Equal(0, QuietestAllocation(RunEverything));
        Assert.True(float.IsFinite(sink));
    }

    /// <summary>
    /// The bytes allocated by the quietest of ten runs of <paramref name="run"/>. The counter is process-wide, and
    /// threads of the test host and of other engines (ILGPU's simulator among them) allocate now and then: a
    /// per-step allocation shows in every run, theirs in only some.
    /// </summary>
    private static long QuietestAllocation(Action run)
    {
        long quietest = long.MaxValue;
        for (int attempt = 0; attempt < 10 && quietest > 0; attempt++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            run();
            quietest = Math.Min(quietest, GC.GetTotalAllocatedBytes(precise: true) - before);
        }

        return quietest;
    }
}
