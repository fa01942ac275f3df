using FusedNets.Generated;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
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
            (Vector128<float> moments128, Vector128<float> secondMoments128) = (Vector128.Create(moment), Vector128.Create(secondMoment));
            Vector128<float> actual128 = rule.UpdateWeight<Vector128<float>, Vector128Ops>(Vector128.Create(weight), ref moments128, ref secondMoments128, Vector128.Create(gradient));
            (float momentScalar, float secondMomentScalar) = (moment, secondMoment);
            float actualScalar = rule.UpdateWeight<float, ScalarOps>(weight, ref momentScalar, ref secondMomentScalar, gradient);

            Assert.Equal(Vector512.Create(expected), actual512);
            Assert.Equal(Vector512.Create(expectedMoment), moments512);
            Assert.Equal(Vector256.Create(expected), actual256);
            Assert.Equal(Vector256.Create(expectedMoment), moments256);
            Assert.Equal(Vector128.Create(expected), actual128);
            Assert.Equal(Vector128.Create(expectedMoment), moments128);
            Assert.Equal((expected, expectedMoment), (actualScalar, momentScalar));
            if (TRule.HasSecondMoment)
            {
                Assert.Equal(Vector512.Create(expectedSecondMoment), secondMoments512);
                Assert.Equal(Vector256.Create(expectedSecondMoment), secondMoments256);
                Assert.Equal(Vector128.Create(expectedSecondMoment), secondMoments128);
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
    public void Forward_and_input_gradient_products_agree_bit_for_bit_across_vector_widths()
    {
        // Every width the engine can choose on one machine rounds its multiply-adds alike (once with FMA, twice
        // without; the 512- and 256-bit widths, which only FMA machines accelerate, always once), and each element
        // of these products is one chain in the same order at every width, so they agree. Training steps do not:
        // the bias gradient sums the batch across vector lanes, in an order that depends on the width.
        NetworkArchitecture architecture = CpuEngineTests.OddSizes(Activation.Relu, Loss.SoftmaxCrossEntropy);
        TestBatch batch = TestArchitectures.RandomBatch(architecture, 37, seed: 8);
        (float[] Outputs, float[] InputGradient)? previous = null;
        foreach (VectorWidth width in WidthsThatRoundAlike)
        {
            using CpuEngine engine = CpuEngineTests.CreateEngine(architecture, new CpuEngineOptions { Width = width, Threads = 1 }, seed: 8);
            var outputs = new float[batch.Size * architecture.OutputSize];
            engine.Predict(batch.Inputs, outputs, batch.Size);
            var inputGradient = new float[batch.Inputs.Length];
            engine.InputGradient(batch.Inputs, batch.Labels, batch.Targets, batch.Size, inputGradient);
            if (previous is { } before)
            {
                Assert.Equal(before.Outputs, outputs);
                Assert.Equal(before.InputGradient, inputGradient);
            }

            previous = (outputs, inputGradient);
        }
    }

    [Fact]
    public void Multiply_adds_round_once_at_the_narrow_widths_exactly_when_the_processor_has_FMA_and_always_at_the_wide_ones()
    {
        // 1 + 2^-12 squared is 1 + 2^-11 + 2^-24: rounded to a float, the 2^-24 is lost, and adding -(1 + 2^-11)
        // leaves 0; fused, it survives.
        float a = 1f + MathF.Pow(2, -12), c = -(1f + MathF.Pow(2, -11));
        float fused = MathF.Pow(2, -24);
        float narrow = Fma.IsSupported || AdvSimd.IsSupported ? fused : 0f;

        Assert.Equal(narrow, ScalarOps.MultiplyAdd(a, a, c));
        Assert.Equal(Vector128.Create(narrow), Vector128Ops.MultiplyAdd(Vector128.Create(a), Vector128.Create(a), Vector128.Create(c)));
        Assert.Equal(Vector256.Create(fused), Vector256Ops.MultiplyAdd(Vector256.Create(a), Vector256.Create(a), Vector256.Create(c)));
        Assert.Equal(Vector512.Create(fused), Vector512Ops.MultiplyAdd(Vector512.Create(a), Vector512.Create(a), Vector512.Create(c)));
    }

    [Fact]
    public void Auto_picks_the_widest_vector_the_runtime_accelerates()
    {
        // CI runs this again with DOTNET_EnableAVX=0, where only 128-bit vectors are accelerated (SSE, without FMA).
        VectorWidth expected = Vector512.IsHardwareAccelerated ? VectorWidth.Vector512
            : Vector256.IsHardwareAccelerated ? VectorWidth.Vector256
            : Vector128.IsHardwareAccelerated ? VectorWidth.Vector128
            : VectorWidth.Scalar;
        NetworkArchitecture architecture = CpuEngineTests.OddSizes(Activation.Relu, Loss.SoftmaxCrossEntropy);

        using var engine = new CpuEngine(architecture, TestArchitectures.Masks(architecture), new CpuEngineOptions { Threads = 2 });

        Assert.Equal(expected, engine.Width);
        string isa = expected switch
        {
            VectorWidth.Vector512 => "AVX-512",
            VectorWidth.Vector256 => "AVX2",
            VectorWidth.Vector128 => AdvSimd.IsSupported ? "NEON" : "SSE",
            _ => "scalar",
        };
        string fma = Fma.IsSupported || AdvSimd.IsSupported ? "" : ", no FMA";
        Assert.Equal($"CPU ({isa}{fma}, 2 threads)", engine.DeviceName);
        if (Environment.GetEnvironmentVariable("DOTNET_EnableAVX") == "0")
        {
            Assert.Equal(VectorWidth.Vector128, engine.Width);
        }
    }

    [Fact]
    public void Transpose_swaps_rows_and_columns_for_every_mix_of_tile_sizes()
    {
        // Up to 40 × 40 covers each tile (16, 8, 4) alone, followed by smaller ones, and the scalar remainders.
        const int Largest = 40;
        const int Stride = Largest + 3; // rows not a whole number of vectors apart
        float[] source = [.. Enumerable.Range(0, Largest * Stride).Select(i => (float)i)];
        var destination = new float[Largest * Stride];
        for (int rows = 0; rows <= Largest; rows++)
        {
            for (int columns = 0; columns <= Largest; columns++)
            {
                Array.Fill(destination, -1f);
                unsafe
                {
                    fixed (float* from = source, to = destination)
                    {
                        Transposes.Transpose(from, Stride, to, Stride, rows, columns);
                    }
                }

                for (int c = 0; c < Largest; c++)
                {
                    for (int r = 0; r < Stride; r++)
                    {
                        float expected = c < columns && r < rows ? source[r * Stride + c] : -1f;
                        if (destination[c * Stride + r] != expected)
                        {
                            Assert.Fail($"{rows} × {columns}: destination[{c}, {r}] is {destination[c * Stride + r]}, expected {expected}");
                        }
                    }
                }
            }
        }
    }

    private static readonly VectorWidth[] EveryWidth = [VectorWidth.Vector512, VectorWidth.Vector256, VectorWidth.Vector128, VectorWidth.Scalar];

    /// <summary>
    /// The widths whose multiply-adds round like the engine's on this machine: all four with FMA; without it (under
    /// <c>DOTNET_EnableAVX2=0</c>, say) the 512- and 256-bit widths, which still fuse in software but which the
    /// engine never picks there, are left out.
    /// </summary>
    internal static readonly VectorWidth[] WidthsThatRoundAlike = MultiplyAdds.AreFused ? EveryWidth : [VectorWidth.Vector128, VectorWidth.Scalar];

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
                AssertSameBits(y, TActivation.Apply<Vector128<float>, Vector128Ops>(Vector128.Create(z)).GetElement(2));
                AssertSameBits(y, TActivation.Apply<float, ScalarOps>(z));
                AssertSameBits(derivative, TActivation.Derivative<Vector512<float>, Vector512Ops>(Vector512.Create(z), Vector512.Create(y)).GetElement(15));
                AssertSameBits(derivative, TActivation.Derivative<Vector256<float>, Vector256Ops>(Vector256.Create(z), Vector256.Create(y)).GetElement(3));
                AssertSameBits(derivative, TActivation.Derivative<Vector128<float>, Vector128Ops>(Vector128.Create(z), Vector128.Create(y)).GetElement(1));
                AssertSameBits(derivative, TActivation.Derivative<float, ScalarOps>(z, y));
                float second = TActivation.SecondDerivative(z, y), third = TActivation.ThirdDerivative(z, y);
                AssertSameBits(second, TActivation.SecondDerivative<Vector512<float>, Vector512Ops>(Vector512.Create(z), Vector512.Create(y)).GetElement(9));
                AssertSameBits(second, TActivation.SecondDerivative<Vector256<float>, Vector256Ops>(Vector256.Create(z), Vector256.Create(y)).GetElement(5));
                AssertSameBits(second, TActivation.SecondDerivative<Vector128<float>, Vector128Ops>(Vector128.Create(z), Vector128.Create(y)).GetElement(2));
                AssertSameBits(second, TActivation.SecondDerivative<float, ScalarOps>(z, y));
                AssertSameBits(third, TActivation.ThirdDerivative<Vector512<float>, Vector512Ops>(Vector512.Create(z), Vector512.Create(y)).GetElement(2));
                AssertSameBits(third, TActivation.ThirdDerivative<Vector256<float>, Vector256Ops>(Vector256.Create(z), Vector256.Create(y)).GetElement(6));
                AssertSameBits(third, TActivation.ThirdDerivative<Vector128<float>, Vector128Ops>(Vector128.Create(z), Vector128.Create(y)).GetElement(3));
                AssertSameBits(third, TActivation.ThirdDerivative<float, ScalarOps>(z, y));
            }
        }

        private static void AssertSameBits(float expected, float actual) =>
            Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(actual));
    }
}
