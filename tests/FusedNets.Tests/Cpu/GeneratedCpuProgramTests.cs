using FusedNets.Generated;
using FusedNets.Backends.Cpu;
using FusedNets.Tests.Networks;
using FusedNets.Tests.Reference;
using Xunit;

namespace FusedNets.Tests.Cpu;

/// <summary>
/// The CPU code the generator emits for each network, and the single-sample path it drives. The generated
/// schedule must run exactly the kernels the architecture describes; the reference tests
/// (<see cref="CpuEngineTests"/>) then vouch for both.
/// </summary>
public class GeneratedCpuProgramTests
{
    public static TheoryData<string> EveryWidth() => [nameof(VectorWidth.Vector512), nameof(VectorWidth.Vector256), nameof(VectorWidth.Scalar)];

    [Theory]
    [MemberData(nameof(EveryWidth))]
    public void The_generated_program_trains_predicts_and_differentiates_bit_for_bit_like_the_architecture(string width)
    {
        var options = new CpuEngineOptions { Width = Enum.Parse<VectorWidth>(width), Threads = 2, ParallelFlops = 0 };
        Network[] networks = [new EveryActivationClassifier(), new MaskedClassifier(), new TinyRegressor(), new WideRegressor(), new ConvRegressor(), new LeNet()];
        foreach (Network network in networks)
        {
            using (network)
            {
                NetworkDefinition definition = network.GeneratedDefinition;
                Assert.IsNotType<ArchitectureCpuProgram>(definition.CpuProgram);
                NetworkArchitecture architecture = definition.Architecture;
                float[]?[] masks = TestArchitectures.Masks(architecture);
                // LeNet's wide sums overflow parameters uniform in [-1, 1) within the three steps.
                float[] parameters = network is LeNet
                    ? CpuConvolutionTests.TrainedScaleParameters(architecture, seed: 3)
                    : TestArchitectures.RandomParameters(architecture, seed: 3);

                using var generated = new CpuEngine(architecture, definition.CpuProgram, masks, options);
                using var interpreted = new CpuEngine(architecture, masks, options);
                generated.WriteParameters(parameters);
                interpreted.WriteParameters(parameters);

                SgdStep sgd = new Sgd(0.05f, momentum: 0.9f).ToStep();
                for (int step = 0; step < 3; step++)
                {
                    TestBatch batch = TestArchitectures.RandomBatch(architecture, 21, seed: step);
                    float loss = generated.TrainBatch(batch.Inputs, batch.Labels, batch.Targets, batch.Size, sgd);
                    Assert.Equal(interpreted.TrainBatch(batch.Inputs, batch.Labels, batch.Targets, batch.Size, sgd), loss);
                    Assert.True(float.IsFinite(loss), $"{architecture.Name}: step {step} diverged, and a dropped step compares nothing");
                }

                Assert.Equal(CpuEngineTests.ReadParameters(interpreted, architecture), CpuEngineTests.ReadParameters(generated, architecture));

                TestBatch probe = TestArchitectures.RandomBatch(architecture, 5, seed: 9);
                Assert.Equal(PredictEach(interpreted, architecture, probe), PredictEach(generated, architecture, probe));
                Assert.Equal(InputGradient(interpreted, probe), InputGradient(generated, probe));
            }
        }
    }

    [Theory]
    [MemberData(nameof(EveryWidth))]
    public void Single_sample_Predict_equals_the_batched_forward_bit_for_bit(string width)
    {
        // Odd sizes at every width, and 300 units: two full panels of eight AVX-512 vectors and a partial third.
        NetworkArchitecture[] architectures =
        [
            CpuEngineTests.OddSizes(Activation.Gelu, Loss.SoftmaxCrossEntropy),
            new("Panels", Loss.MeanSquaredError, "X", 19,
            [
                new DenseLayerArchitecture("Wide", 300, 19, Activation.Sigmoid, LayerMask.None),
                new DenseLayerArchitecture("Output", 3, 300, Activation.Identity, LayerMask.None),
            ]),
        ];
        CpuEngineOptions[] setups =
        [
            new() { Width = Enum.Parse<VectorWidth>(width), Threads = 1 },
            new() { Width = Enum.Parse<VectorWidth>(width), Threads = 3, ParallelFlops = 0 }, // each layer's panels split over threads
        ];
        foreach (NetworkArchitecture architecture in architectures)
        {
            foreach (CpuEngineOptions options in setups)
            {
                using CpuEngine engine = CpuEngineTests.CreateEngine(architecture, options, seed: 4);
                TestBatch batch = TestArchitectures.RandomBatch(architecture, 6, seed: 5);

                Assert.Equal(PredictBatch(engine, architecture, batch), PredictEach(engine, architecture, batch));
            }
        }
    }

    [Fact]
    public void Single_sample_Predict_sees_every_training_step_and_every_parameter_write()
    {
        NetworkArchitecture architecture = CpuEngineTests.OddSizes(Activation.Tanh, Loss.SoftmaxCrossEntropy);
        using CpuEngine engine = CpuEngineTests.CreateEngine(architecture, new CpuEngineOptions(), seed: 7);
        TestBatch batch = TestArchitectures.RandomBatch(architecture, 4, seed: 8);
        float[] before = PredictEach(engine, architecture, batch);

        engine.TrainBatch(batch.Inputs, batch.Labels, batch.Targets, batch.Size, new Sgd(0.5f).ToStep());
        float[] afterStep = PredictEach(engine, architecture, batch);
        Assert.NotEqual(before, afterStep);
        Assert.Equal(PredictBatch(engine, architecture, batch), afterStep);

        engine.WriteParameters(TestArchitectures.RandomParameters(architecture, seed: 9));
        Assert.Equal(PredictBatch(engine, architecture, batch), PredictEach(engine, architecture, batch));
    }

    private static float[] PredictBatch(CpuEngine engine, NetworkArchitecture architecture, TestBatch batch)
    {
        var outputs = new float[batch.Size * architecture.OutputSize];
        engine.Predict(batch.Inputs, outputs, batch.Size);
        return outputs;
    }

    private static float[] PredictEach(CpuEngine engine, NetworkArchitecture architecture, TestBatch batch)
    {
        int inputs = architecture.InputSize, outputs = architecture.OutputSize;
        var results = new float[batch.Size * outputs];
        for (int sample = 0; sample < batch.Size; sample++)
        {
            engine.Predict(batch.Inputs.AsSpan(sample * inputs, inputs), results.AsSpan(sample * outputs, outputs), 1);
        }

        return results;
    }

    private static float[] InputGradient(CpuEngine engine, TestBatch batch)
    {
        var gradient = new float[batch.Inputs.Length];
        engine.InputGradient(batch.Inputs, batch.Labels, batch.Targets, batch.Size, gradient);
        return gradient;
    }
}
