using System.Collections.Immutable;
using FusedNets.Backends;
using FusedNets.Backends.Cpu;
using FusedNets.Gpu;
using FusedNets.Reference;
using FusedNets.Tests.Reference;
using ILGPU.Runtime;

namespace FusedNets.Tests.Research;

/// <summary>
/// Interval bounds on the engines: the CPU engine at every vector width and on several threads, and the ILGPU kernels
/// on ILGPU's CPU simulator. Sound (they hold the outputs each engine's own forward gives for 10,000 points of every
/// box, batched and one at a time, and the reference's exact interval bounds), tight (within a small margin of the
/// reference), equal to hand-computed bounds; and the vector-Jacobian products attributions run on.
/// </summary>
public class EngineIntervalTests
{
    private const int PointsPerBox = 10_000;

    /// <summary>Every vector width, on one thread and on three (ParallelFlops = 0 splits even these tiny networks), and the ILGPU kernels.</summary>
    private static readonly ImmutableDictionary<string, Func<NetworkArchitecture, INetworkEngine>> Engines = new Dictionary<string, Func<NetworkArchitecture, INetworkEngine>>
    {
        ["Avx512, 1 thread"] = architecture => Cpu(architecture, new CpuEngineOptions { Width = VectorWidth.Vector512, Threads = 1 }),
        ["Avx512, 3 threads"] = architecture => Cpu(architecture, new CpuEngineOptions { Width = VectorWidth.Vector512, Threads = 3, ParallelFlops = 0 }),
        ["Avx2, 1 thread"] = architecture => Cpu(architecture, new CpuEngineOptions { Width = VectorWidth.Vector256, Threads = 1 }),
        ["Avx2, 2 threads"] = architecture => Cpu(architecture, new CpuEngineOptions { Width = VectorWidth.Vector256, Threads = 2, ParallelFlops = 0 }),
        ["Scalar, 1 thread"] = architecture => Cpu(architecture, new CpuEngineOptions { Width = VectorWidth.Scalar, Threads = 1 }),
        ["IlgpuCpu"] = Ilgpu,
    }.ToImmutableDictionary();

    public static TheoryData<string, string> EveryNetworkOnEveryEngine()
    {
        var data = new TheoryData<string, string>();
        foreach (string network in IntervalTestData.Networks.Keys)
        {
            foreach (string engine in Engines.Keys.Order())
            {
                data.Add(network, engine);
            }
        }

        return data;
    }

    public static TheoryData<string> EveryEngine() => [.. Engines.Keys.Order()];

    /// <summary>
    /// Every network at every width on one thread and on the ILGPU kernels: the thread count changes no bit of any result
    /// (CpuEngineTests), and 10,000 points of each box on three threads cost minutes on a busy machine for nothing more.
    /// </summary>
    public static TheoryData<string, string> EveryNetworkOnEveryWidth()
    {
        var data = new TheoryData<string, string>();
        foreach (string network in IntervalTestData.Networks.Keys)
        {
            foreach (string engine in new[] { "Avx512, 1 thread", "Avx2, 1 thread", "Scalar, 1 thread", "IlgpuCpu" })
            {
                data.Add(network, engine);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EveryNetworkOnEveryWidth))]
    public void Bounds_hold_the_outputs_of_10000_points_of_every_box(string network, string engineName)
    {
        NetworkArchitecture architecture = IntervalTestData.Networks[network]();
        using INetworkEngine engine = Create(architecture, engineName);
        // The simulator runs 10,000 points of a conv net in about a minute on two busy cores: one box there (the
        // bounds of several boxes in one launch are the next test's), three on the CPU engine.
        int boxes = engineName == "IlgpuCpu" ? 1 : 3;
        (float[] lower, float[] upper) = IntervalTestData.RandomBoxes(architecture, boxes, seed: 21);
        int inputs = architecture.InputSize, outputs = architecture.OutputSize;
        var outputLower = new float[boxes * outputs];
        var outputUpper = new float[boxes * outputs];

        engine.IntervalBounds(lower, upper, boxes, architecture.Layers.Length, outputLower, outputUpper);

        for (int box = 0; box < boxes; box++)
        {
            float[] points = IntervalTestData.PointsIn(lower, upper, box, inputs, PointsPerBox, seed: 100 + box);
            var values = new float[PointsPerBox * outputs];
            engine.Predict(points, values, PointsPerBox);

            // One sample at a time takes other kernels on the CPU (a matrix-vector product, a stencil): it must fit too.
            for (int p = 0; p < 50; p++)
            {
                engine.Predict(points.AsSpan(p * inputs, inputs), values.AsSpan(p * outputs, outputs), 1);
            }

            for (int p = 0; p < PointsPerBox; p++)
            {
                for (int o = 0; o < outputs; o++)
                {
                    float value = values[p * outputs + o], lo = outputLower[box * outputs + o], hi = outputUpper[box * outputs + o];
                    Assert.True(lo <= value && value <= hi, $"box {box}, point {p}, output {o}: {value:R} outside [{lo:R}, {hi:R}]");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(EveryNetworkOnEveryEngine))]
    public void Bounds_hold_the_reference_bounds_within_a_small_margin(string network, string engineName)
    {
        NetworkArchitecture architecture = IntervalTestData.Networks[network]();
        using INetworkEngine engine = Create(architecture, engineName);
        ReferenceNetwork reference = TestArchitectures.RandomReference(architecture, seed: 31);
        foreach (int boxes in new[] { 1, 7, 33 })
        {
            (float[] lower, float[] upper) = IntervalTestData.RandomBoxes(architecture, boxes, seed: boxes);
            var outputLower = new float[boxes * architecture.OutputSize];
            var outputUpper = new float[boxes * architecture.OutputSize];

            engine.IntervalBounds(lower, upper, boxes, architecture.Layers.Length, outputLower, outputUpper);

            (double[] expectedLower, double[] expectedUpper) = reference.IntervalBounds(Widen(lower), Widen(upper), boxes);
            for (int i = 0; i < expectedLower.Length; i++)
            {
                AssertHoldsWithin(expectedLower[i], expectedUpper[i], outputLower[i], outputUpper[i], $"{boxes} boxes, output {i}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(EveryEngine))]
    public void Bounds_of_a_small_network_hold_the_hand_computed_ones_within_their_margin(string engineName)
    {
        using INetworkEngine engine = Engines[engineName](ReferenceIntervalTests.HandNetwork);
        engine.WriteParameters(ReferenceIntervalTests.HandParameters);
        var lower = new float[2];
        var upper = new float[2];

        engine.IntervalBounds(ReferenceIntervalTests.HandLower, ReferenceIntervalTests.HandUpper, 1, 2, lower, upper);

        for (int o = 0; o < 2; o++)
        {
            double expectedLower = ReferenceIntervalTests.HandOutputLower[o], expectedUpper = ReferenceIntervalTests.HandOutputUpper[o];
            Assert.True(lower[o] <= expectedLower && expectedUpper <= upper[o], $"output {o}: [{lower[o]:R}, {upper[o]:R}] does not hold [{expectedLower}, {expectedUpper}]");
            // The margins: 20 · 2⁻²⁴ times |b| + Σ|w| max|x| per layer (7 and 9.25), the first's carried through W2: under 5e-5.
            Assert.True(expectedLower - lower[o] < 5e-5 && upper[o] - expectedUpper < 5e-5, $"output {o}: [{lower[o]:R}, {upper[o]:R}] is loose");
        }
    }

    [Theory]
    [MemberData(nameof(EveryEngine))]
    public void Bounds_of_the_first_layers_alone_are_those_layers_bounds(string engineName)
    {
        NetworkArchitecture architecture = TestArchitectures.ConvNet(Activation.Gelu, Loss.SoftmaxCrossEntropy);
        using INetworkEngine engine = Create(architecture, engineName);
        ReferenceNetwork reference = TestArchitectures.RandomReference(architecture, seed: 31);
        (float[] lower, float[] upper) = IntervalTestData.RandomBoxes(architecture, 5, seed: 8);
        int units = architecture.Layers[2].Units;
        var outputLower = new float[5 * units];
        var outputUpper = new float[5 * units];

        engine.IntervalBounds(lower, upper, 5, 3, outputLower, outputUpper);

        var truncated = new NetworkArchitecture("FirstThree", Loss.MeanSquaredError, "Image", architecture.InputShape, [.. architecture.Layers.Take(3)]);
        var first = new ReferenceNetwork(truncated, TestArchitectures.RandomParameters(architecture, seed: 31).AsSpan(0, truncated.ParameterCount), [null, null, null]);
        (double[] expectedLower, double[] expectedUpper) = first.IntervalBounds(Widen(lower), Widen(upper), 5);
        for (int i = 0; i < expectedLower.Length; i++)
        {
            AssertHoldsWithin(expectedLower[i], expectedUpper[i], outputLower[i], outputUpper[i], $"value {i}");
        }
    }

    [Theory]
    [MemberData(nameof(EveryNetworkOnEveryEngine))]
    public void Vector_jacobian_products_match_the_reference(string network, string engineName)
    {
        NetworkArchitecture architecture = IntervalTestData.Networks[network]();
        using INetworkEngine engine = Create(architecture, engineName);
        ReferenceNetwork reference = TestArchitectures.RandomReference(architecture, seed: 31);
        foreach (int batch in new[] { 1, 9 })
        {
            TestBatch inputs = TestArchitectures.RandomBatch(architecture, batch, seed: batch);
            var random = new Random(batch);
            float[] seed = [.. Enumerable.Range(0, batch * architecture.OutputSize).Select(_ => (float)(random.NextDouble() * 2 - 1))];
            var gradient = new float[inputs.Inputs.Length];

            engine.VectorJacobianProduct(inputs.Inputs, seed, batch, gradient);

            double[] expected = reference.VectorJacobianProduct(inputs.InputsAsDouble, Widen(seed), batch);
            for (int i = 0; i < expected.Length; i++)
            {
                Assert.True(Math.Abs(gradient[i] - expected[i]) <= 1e-4 * (1 + Math.Abs(expected[i])), $"batch {batch}, input {i}: expected {expected[i]:R}, got {gradient[i]:R}");
            }
        }
    }

    [Fact]
    public void The_reference_vector_jacobian_product_matches_finite_differences()
    {
        NetworkArchitecture architecture = TestArchitectures.ConvNet(Activation.Softplus, Loss.SoftmaxCrossEntropy);
        ReferenceNetwork reference = TestArchitectures.RandomReference(architecture, seed: 2);
        double[] inputs = TestArchitectures.RandomBatch(architecture, 2, seed: 3).InputsAsDouble;
        double[] seed = [0.5, -1, 2, -0.25, 1, 0.75];

        double[] product = reference.VectorJacobianProduct(inputs, seed, 2);

        for (int i = 0; i < inputs.Length; i++)
        {
            double original = inputs[i];
            double numerical = FiniteDifferences.Central(value =>
            {
                inputs[i] = value;
                double[] outputs = reference.Forward(inputs, 2);
                return outputs.Select((output, o) => output * seed[o]).Sum();
            }, original);
            inputs[i] = original;
            FiniteDifferences.AssertClose(numerical, product[i], $"input {i}");
        }
    }

    /// <summary>An engine with <see cref="TestArchitectures.RandomParameters"/> (seed 31), as the reference of the same seed.</summary>
    internal static INetworkEngine Create(NetworkArchitecture architecture, string engine)
    {
        INetworkEngine created = Engines[engine](architecture);
        created.WriteParameters(TestArchitectures.RandomParameters(architecture, seed: 31));
        return created;
    }

    private static CpuEngine Cpu(NetworkArchitecture architecture, CpuEngineOptions options) => new(architecture, TestArchitectures.Masks(architecture), options);

    private static IlgpuEngine Ilgpu(NetworkArchitecture architecture)
    {
        Accelerator accelerator = IlgpuDevices.TryGet(Backend.IlgpuCpu, out string whyNot) ?? throw new InvalidOperationException(whyNot);
        return new IlgpuEngine(Backend.IlgpuCpu, accelerator, architecture, TestArchitectures.Masks(architecture));
    }

    /// <summary>
    /// The engine's [lower, upper] holds the reference's bounds (to its double rounding) and is at most 2e-3 (relative) wider:
    /// the margins, (5n + 10) 2⁻²⁴ of each layer's |b| + Σ|w| max|x| (the CPU bounds the sum by the largest |x| times Σ|w|),
    /// grow through the layers to about 1e-3 in the strided network, whose first layer sums 48 products.
    /// </summary>
    private static void AssertHoldsWithin(double expectedLower, double expectedUpper, float lower, float upper, string what)
    {
        double slack = 1e-12 * (1 + Math.Abs(expectedLower) + Math.Abs(expectedUpper));
        Assert.True(lower <= expectedLower + slack && expectedUpper - slack <= upper, $"{what}: [{lower:R}, {upper:R}] does not hold the reference's [{expectedLower:R}, {expectedUpper:R}]");
        Assert.True(expectedLower - lower <= 2e-3 * (1 + Math.Abs(expectedLower)) && upper - expectedUpper <= 2e-3 * (1 + Math.Abs(expectedUpper)),
            $"{what}: [{lower:R}, {upper:R}] is far wider than the reference's [{expectedLower:R}, {expectedUpper:R}]");
    }

    private static double[] Widen(float[] values) => Array.ConvertAll(values, value => (double)value);
}
