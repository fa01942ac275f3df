using FusedNets.Generated;
using System.Runtime.Intrinsics;
using FusedNets.Backends.Cpu;
using FusedNets.Tests.Reference;
using Xunit;

namespace FusedNets.Tests.Cpu;

/// <summary>The CPU kernels' vector transcriptions of the scalar rules, determinism, and steady-state allocation.</summary>
public class CpuKernelTests
{
    private static readonly float[] Probes =
    [
        0f, -0f, 1f, -1f, 0.5f, -0.5f, 1e-30f, -1e-30f, float.Epsilon, -float.Epsilon, 3.7f, -88.5f, 1e30f, -1e30f,
        float.PositiveInfinity, float.NegativeInfinity, float.NaN, float.MaxValue, float.MinValue,
    ];

    [Fact]
    public void Lane_wise_activations_equal_the_scalar_rules_bit_for_bit_at_every_width()
    {
        foreach (Activation activation in TestArchitectures.EveryActivation)
        {
            var visitor = new ActivationCheck(activation);
            Activations.Dispatch(activation, ref visitor);
        }
    }

    [Fact]
    public void The_vector_sgd_update_equals_SgdStep_UpdateWeight_bit_for_bit()
    {
        foreach (SgdStep sgd in new[]
        {
            new Sgd(0.1f).ToStep(),
            new Sgd(0.01f, momentum: 0.9f).ToStep(),
            new Sgd(0.3f, momentum: 0.7f, nesterov: true, weightDecay: 0.05f).ToStep(),
        })
        {
            AssertVectorRuleMatchesScalar(sgd, seed: 4);
        }
    }

    [Fact]
    public void The_vector_adam_update_equals_AdamStep_UpdateWeight_bit_for_bit_at_every_width()
    {
        foreach (Optimizer adam in new Optimizer[]
        {
            new Adam(),
            new Adam(0.01f, beta1: 0.8f, beta2: 0.99f, epsilon: 1e-6f, weightDecay: 0.1f),
            new AdamW(0.003f, weightDecay: 0.2f),
        })
        {
            foreach (long step in new long[] { 1, 2, 17, 5000 })
            {
                AssertVectorRuleMatchesScalar(adam.ToStep(adam.LearningRate, step).Adam, seed: (int)step);
            }
        }
    }

    /// <summary>Random weights, moments and gradients (second moments at least 0, as they always are) through both forms of the rule.</summary>
    private static void AssertVectorRuleMatchesScalar<TRule>(TRule rule, int seed)
        where TRule : struct, IUpdateRule
    {
        var random = new Random(seed);
        for (int trial = 0; trial < 200; trial++)
        {
            float weight = (float)(random.NextDouble() * 4 - 2);
            float moment = (float)(random.NextDouble() * 2 - 1);
            float secondMoment = (float)(random.NextDouble() * random.NextDouble());
            float gradient = (float)(random.NextDouble() * 2 - 1) * (trial % 3 == 0 ? 1e-4f : 1);

            (float expectedMoment, float expectedSecondMoment) = (moment, secondMoment);
            float expected = rule.UpdateWeight(weight, ref expectedMoment, ref expectedSecondMoment, gradient);

            (Vector512<float> moments512, Vector512<float> secondMoments512) = (Vector512.Create(moment), Vector512.Create(secondMoment));
            Vector512<float> actual512 = rule.UpdateWeight<Vector512<float>, Vector512Ops>(Vector512.Create(weight), ref moments512, ref secondMoments512, Vector512.Create(gradient));
            (Vector256<float> moments256, Vector256<float> secondMoments256) = (Vector256.Create(moment), Vector256.Create(secondMoment));
            Vector256<float> actual256 = rule.UpdateWeight<Vector256<float>, Vector256Ops>(Vector256.Create(weight), ref moments256, ref secondMoments256, Vector256.Create(gradient));
            (float momentScalar, float secondMomentScalar) = (moment, secondMoment);
            float actualScalar = rule.UpdateWeight<float, ScalarOps>(weight, ref momentScalar, ref secondMomentScalar, gradient);

            Assert.Equal(Vector512.Create(expected), actual512);
            Assert.Equal(Vector512.Create(expectedMoment), moments512);
            Assert.Equal(Vector256.Create(expected), actual256);
            Assert.Equal(Vector256.Create(expectedMoment), moments256);
            Assert.Equal((expected, expectedMoment), (actualScalar, momentScalar));
            if (TRule.HasSecondMoment)
            {
                Assert.Equal(Vector512.Create(expectedSecondMoment), secondMoments512);
                Assert.Equal(Vector256.Create(expectedSecondMoment), secondMoments256);
                Assert.Equal(expectedSecondMoment, secondMomentScalar);
            }
        }
    }

    [Fact]
    public void Training_twice_from_the_same_start_gives_bit_identical_parameters()
    {
        NetworkArchitecture architecture = WideArchitecture();
        var options = new CpuEngineOptions { Threads = 2, ParallelFlops = 0 };
        float[] first = TrainFewSteps(architecture, options);
        float[] second = TrainFewSteps(architecture, options);
        Assert.Equal(first, second);
    }

    [Fact]
    public void The_thread_count_does_not_change_a_single_bit()
    {
        NetworkArchitecture architecture = WideArchitecture();
        float[] one = TrainFewSteps(architecture, new CpuEngineOptions { Threads = 1 });
        float[] three = TrainFewSteps(architecture, new CpuEngineOptions { Threads = 3, ParallelFlops = 0 });
        Assert.Equal(one, three);
    }

    [Fact]
    public void Batched_forward_products_agree_bit_for_bit_across_vector_widths()
    {
        NetworkArchitecture architecture = CpuEngineTests.OddSizes(Activation.Relu, Loss.SoftmaxCrossEntropy);
        TestBatch batch = TestArchitectures.RandomBatch(architecture, 37, seed: 8);
        float[]? previous = null;
        foreach (VectorWidth width in new[] { VectorWidth.Vector512, VectorWidth.Vector256, VectorWidth.Scalar })
        {
            using CpuEngine engine = CpuEngineTests.CreateEngine(architecture, new CpuEngineOptions { Width = width, Threads = 1 }, seed: 8);
            var outputs = new float[batch.Size * architecture.OutputSize];
            engine.Predict(batch.Inputs, outputs, batch.Size);
            if (previous is not null)
            {
                Assert.Equal(previous, outputs);
            }

            previous = outputs;
        }
    }

    internal static NetworkArchitecture WideArchitecture() =>
        new("Wide", Loss.SoftmaxCrossEntropy, "X", 100,
        [
            new DenseLayerArchitecture("First", 70, 100, Activation.Relu, LayerMask.None),
            new DenseLayerArchitecture("Second", 45, 70, Activation.Tanh, LayerMask.Random(0.3, 1)),
            new DenseLayerArchitecture("Output", 10, 45, Activation.Identity, LayerMask.None),
        ]);

    private static float[] TrainFewSteps(NetworkArchitecture architecture, CpuEngineOptions options)
    {
        using CpuEngine engine = CpuEngineTests.CreateEngine(architecture, options, seed: 6);
        SgdStep sgd = new Sgd(0.05f, momentum: 0.9f, nesterov: true, weightDecay: 1e-3f).ToStep();
        for (int step = 0; step < 5; step++)
        {
            TestBatch batch = TestArchitectures.RandomBatch(architecture, 50 + step, seed: step);
            engine.TrainBatch(batch.Inputs, batch.Labels, batch.Targets, batch.Size, sgd);
        }

        return CpuEngineTests.ReadParameters(engine, architecture);
    }

    private readonly struct ActivationCheck(Activation activation) : IActivationVisitor
    {
        public void Visit<TActivation>()
            where TActivation : struct, IActivationKernel
        {
            Assert.Equal(activation, TActivation.Activation);
            foreach (float z in Probes)
            {
                float y = Activations.Apply(activation, z);
                float derivative = Activations.Derivative(activation, z, y);
                AssertSameBits(y, TActivation.Apply<Vector512<float>, Vector512Ops>(Vector512.Create(z)).GetElement(0));
                AssertSameBits(y, TActivation.Apply<Vector256<float>, Vector256Ops>(Vector256.Create(z)).GetElement(7));
                AssertSameBits(y, TActivation.Apply<float, ScalarOps>(z));
                AssertSameBits(derivative, TActivation.Derivative<Vector512<float>, Vector512Ops>(Vector512.Create(z), Vector512.Create(y)).GetElement(15));
                AssertSameBits(derivative, TActivation.Derivative<Vector256<float>, Vector256Ops>(Vector256.Create(z), Vector256.Create(y)).GetElement(3));
                AssertSameBits(derivative, TActivation.Derivative<float, ScalarOps>(z, y));
                float second = TActivation.SecondDerivative(z, y), third = TActivation.ThirdDerivative(z, y);
                AssertSameBits(second, TActivation.SecondDerivative<Vector512<float>, Vector512Ops>(Vector512.Create(z), Vector512.Create(y)).GetElement(9));
                AssertSameBits(second, TActivation.SecondDerivative<Vector256<float>, Vector256Ops>(Vector256.Create(z), Vector256.Create(y)).GetElement(5));
                AssertSameBits(second, TActivation.SecondDerivative<float, ScalarOps>(z, y));
                AssertSameBits(third, TActivation.ThirdDerivative<Vector512<float>, Vector512Ops>(Vector512.Create(z), Vector512.Create(y)).GetElement(2));
                AssertSameBits(third, TActivation.ThirdDerivative<Vector256<float>, Vector256Ops>(Vector256.Create(z), Vector256.Create(y)).GetElement(6));
                AssertSameBits(third, TActivation.ThirdDerivative<float, ScalarOps>(z, y));
            }
        }

        private static void AssertSameBits(float expected, float actual) =>
            Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(actual));
    }
}
