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

        void RunEverything(int steps)
        {
            for (int step = 0; step < steps; step++)
            {
                engine.TrainBatch(batch.Inputs, batch.Labels, batch.Targets, batch.Size, sgd);
                engine.Predict(batch.Inputs.AsSpan(0, architecture.InputSize), output, 1);
                engine.Evaluate(batch.Inputs, batch.Labels, batch.Targets, batch.Size, outputs, losses);
            }
        }

        // Warm up everything that happens once: the workspace, tiered compilation, and the workers'
        // first sleep and wake-up (the pause is longer than they spin).
        RunEverything(20);
        Thread.Sleep(20);
        RunEverything(20);
        Thread.Sleep(20);

        Assert.Equal(0, QuietestAllocation(() => RunEverything(MeasuredSteps)));
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

        void RunEverything(int steps)
        {
            for (int step = 0; step < steps; step++)
            {
                engine.TrainBatch(batch.Inputs, batch.Labels, batch.Targets, batch.Size, sgd);
                engine.Predict(batch.Inputs.AsSpan(0, architecture.InputSize), output, 1);
                engine.InputGradient(batch.Inputs, batch.Labels, batch.Targets, batch.Size, gradient);
            }
        }

        RunEverything(5);
        Thread.Sleep(20);
        RunEverything(5);
        Thread.Sleep(20);

        Assert.Equal(0, QuietestAllocation(() => RunEverything(MeasuredSteps)));
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

        void RunEverything(int steps)
        {
            for (int i = 0; i < steps; i++)
            {
                sink += step();
            }
        }

        RunEverything(20);
        Thread.Sleep(20);
        RunEverything(20);
        Thread.Sleep(20);

        Assert.Equal(0, QuietestAllocation(() => RunEverything(MeasuredSteps)));
        Assert.True(float.IsFinite(sink));
    }

    [Fact]
    public void Adam_steps_of_a_dense_and_a_conv_net_allocate_nothing_after_warm_up()
    {
        // Each step makes its value (bias corrections from the decimals of the hyperparameters) and hands the rule to
        // the kernels as a type argument: neither may allocate.
        using var network = new MnistMlp(seed: 1, Backend.Cpu);
        TestBatch batch = TestArchitectures.RandomBatch(network.Architecture, 16, seed: 2);
        var adam = new Adam(0.001f, weightDecay: 0.01f);
        NetworkArchitecture lenet = CpuConvolutionTests.LeNet(LayerMask.Random(0.5, 1));
        TestBatch images = TestArchitectures.RandomBatch(lenet, 8, seed: 1);
        using CpuEngine engine = CpuEngineTests.CreateEngine(lenet, new CpuEngineOptions { Threads = 2, ParallelFlops = 0 }, seed: 1);
        var adamW = new AdamW(0.001f);
        long step = 0;
        float sink = 0;

        void RunEverything()
        {
            for (int i = 0; i < 5; i++)
            {
                sink += network.TrainBatch(batch.Inputs, batch.Labels, adam);
                sink += engine.TrainBatch(images.Inputs, images.Labels, images.Targets, images.Size, adamW.ToStep(adamW.LearningRate, ++step));
            }
        }

        RunEverything();
        Thread.Sleep(20);
        RunEverything();
        Thread.Sleep(20);

        Assert.Equal(0, QuietestAllocation(RunEverything));
        Assert.True(float.IsFinite(sink));
    }

    [Fact]
    public void A_standardizing_network_trains_predicts_and_backpropagates_without_allocating_after_warm_up()
    {
        using var network = new Training.StandardizedClassifier(seed: 1, Backend.Cpu);
        TestBatch batch = TestArchitectures.RandomBatch(network.Architecture, 24, seed: 2);
        network.Standardization = new Standardization([1f, 2f, 3f, 4f, 5f], [0.5f, 1f, 2f, 4f, 8f]);
        var sample = Training.StandardizedClassifier.Input.From(batch.Inputs.AsSpan(0, 5));
        var gradient = new float[batch.Inputs.Length];
        var sgd = new Sgd(0.01f, momentum: 0.9f);
        float sink = 0;

        void RunEverything()
        {
            for (int step = 0; step < 20; step++)
            {
                sink += network.TrainBatch(batch.Inputs, batch.Labels, sgd);
                sink += network.Predict(sample)[0];
                sink += network.InputGradient(batch.Inputs, batch.Labels, gradient);
            }
        }

        RunEverything();
        Thread.Sleep(20);
        RunEverything();
        Thread.Sleep(20);

        Assert.Equal(0, QuietestAllocation(RunEverything));
        Assert.True(float.IsFinite(sink));
    }

    // Steps per measured run. Short runs catch the test host's occasional allocations in fewer of them: runs of
    // 20 steps on the SSE path (DOTNET_EnableAVX=0) of a busy machine caught 168 bytes in every one of ten.
    private const int MeasuredSteps = 4;

    /// <summary>
    /// The bytes allocated by the quietest of twenty runs of <paramref name="run"/>. The counter is process-wide,
    /// and threads of the test host and of other engines (ILGPU's simulator among them) allocate now and then: a
    /// per-step allocation shows in every run, theirs in only some.
    /// </summary>
    private static long QuietestAllocation(Action run)
    {
        long quietest = long.MaxValue;
        for (int attempt = 0; attempt < 20 && quietest > 0; attempt++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            run();
            quietest = Math.Min(quietest, GC.GetTotalAllocatedBytes(precise: true) - before);
        }

        return quietest;
    }
}
