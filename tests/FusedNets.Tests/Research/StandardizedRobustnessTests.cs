using FusedNets.Tests.Training;

namespace FusedNets.Tests.Research;

/// <summary>
/// Robustness and interpretability on a network declared with <c>[Input(..., Standardize = true)]</c>: boxes, attacks and
/// attributions are in raw features, and give what the same network gives on features standardized by hand, the
/// gradients carrying the standardization's 1 / deviation.
/// </summary>
public class StandardizedRobustnessTests
{
    public static TheoryData<Backend> CpuBackends() => [Backend.Cpu, Backend.IlgpuCpu];

    // Features of very different scales, as the breast-cancer measurements are.
    private static readonly Standardization Statistics = new([0.5f, -2f, 1000f, 0.001f, 0f], [2f, 0.25f, 300f, 0.0005f, 1f]);

    [Theory]
    [MemberData(nameof(CpuBackends))]
    public void Interval_bounds_of_raw_boxes_are_those_of_the_standardized_boxes(Backend backend)
    {
        using var standardized = new StandardizedClassifier(seed: 1, backend) { Standardization = Statistics };
        using var plain = new PlainClassifier(seed: 1, backend);
        (float[] raw, _) = RawSamples(count: 6, seed: 3);
        float[] lower = Shifted(raw, -0.2f), upper = Shifted(raw, 0.3f);
        float[] standardizedLower = ByHand(lower), standardizedUpper = ByHand(upper);

        (float[] rawBoundsLower, float[] rawBoundsUpper) = Bounds(standardized, lower, upper);
        (float[] expectedLower, float[] expectedUpper) = Bounds(plain, standardizedLower, standardizedUpper);

        // The same bounds, but for the few floats the standardized box moves out to hold the exact (x − mean) / deviation too.
        for (int i = 0; i < expectedLower.Length; i++)
        {
            Assert.InRange(rawBoundsLower[i], expectedLower[i] - 1e-5f * (1 + Math.Abs(expectedLower[i])), expectedLower[i]);
            Assert.InRange(rawBoundsUpper[i], expectedUpper[i], expectedUpper[i] + 1e-5f * (1 + Math.Abs(expectedUpper[i])));
        }
    }

    [Theory]
    [MemberData(nameof(CpuBackends))]
    public void Interval_bounds_of_raw_boxes_hold_the_outputs_of_ten_thousand_raw_points_in_them(Backend backend)
    {
        using var standardized = new StandardizedClassifier(seed: 1, backend) { Standardization = Statistics };
        (float[] raw, _) = RawSamples(count: 4, seed: 5);
        float[] lower = Shifted(raw, -0.25f), upper = Shifted(raw, 0.25f);
        (float[] boundsLower, float[] boundsUpper) = Bounds(standardized, lower, upper);

        const int PointsPerBox = 2500;
        int inputs = Statistics.Mean.Count, outputs = standardized.Architecture.OutputSize;
        var random = new Random(7);
        var points = new float[PointsPerBox * inputs];
        var predicted = new float[PointsPerBox * outputs];
        for (int box = 0; box < raw.Length / inputs; box++)
        {
            for (int p = 0; p < PointsPerBox; p++)
            {
                for (int f = 0; f < inputs; f++)
                {
                    // The corners too: there the bounds are tightest.
                    float lo = lower[box * inputs + f], hi = upper[box * inputs + f];
                    points[p * inputs + f] = p % 10 == 0 ? (random.Next(2) == 0 ? lo : hi) : Math.Clamp(lo + (float)random.NextDouble() * (hi - lo), lo, hi);
                }
            }

            standardized.Predict(points, predicted);
            for (int i = 0; i < predicted.Length; i++)
            {
                int o = box * outputs + i % outputs;
                Assert.InRange(predicted[i], boundsLower[o], boundsUpper[o]);
            }
        }
    }

    [Theory]
    [MemberData(nameof(CpuBackends))]
    public void Fgsm_on_raw_features_steps_along_the_gradient_at_the_standardized_ones(Backend backend)
    {
        using var standardized = new StandardizedClassifier(seed: 1, backend) { Standardization = Statistics };
        using var plain = new PlainClassifier(seed: 1, backend);
        (float[] raw, int[] labels) = RawSamples(count: 9, seed: 11);
        const float Epsilon = 0.1f;

        var adversarial = new float[raw.Length];
        Robustness.Fgsm(standardized, raw, labels, Epsilon, adversarial);
        var gradient = new float[raw.Length];
        plain.InputGradientCore(ByHand(raw), labels, default, gradient);

        for (int i = 0; i < raw.Length; i++)
        {
            Assert.Equal(MathF.Sign(gradient[i]), MathF.Sign(adversarial[i] - raw[i]));
            Assert.True(Math.Abs((double)adversarial[i] - raw[i]) <= Epsilon, $"value {i} moved {adversarial[i] - raw[i]}, more than ε");
        }
    }

    [Theory]
    [MemberData(nameof(CpuBackends))]
    public void Integrated_gradients_and_saliency_of_raw_features_are_those_of_the_standardized_ones(Backend backend)
    {
        using var standardized = new StandardizedClassifier(seed: 1, backend) { Standardization = Statistics };
        using var plain = new PlainClassifier(seed: 1, backend);
        (float[] raw, _) = RawSamples(count: 2, seed: 13);
        int inputs = Statistics.Mean.Count;
        float[] input = raw[..inputs], baseline = raw[inputs..];

        // x − x′ is (x′s − x′′s) · deviation, ∂y/∂x is ∂y/∂x′s / deviation: the attributions do not change.
        var attribution = new float[inputs];
        var expected = new float[inputs];
        Interpretability.IntegratedGradients(standardized, input, baseline, target: 1, steps: 16, attribution);
        Interpretability.IntegratedGradients(plain, ByHand(input), ByHand(baseline), target: 1, steps: 16, expected);
        AssertClose(expected, attribution);

        var saliency = new float[inputs];
        var standardizedSaliency = new float[inputs];
        Interpretability.Saliency(standardized, input, target: 2, saliency);
        Interpretability.Saliency(plain, ByHand(input), target: 2, standardizedSaliency);
        AssertClose([.. standardizedSaliency.Select((value, f) => value / Statistics.StandardDeviation[f])], saliency);
    }

    private static (float[] Lower, float[] Upper) Bounds(Network network, float[] lower, float[] upper)
    {
        int samples = lower.Length / network.Architecture.InputSize;
        var boundsLower = new float[samples * network.Architecture.OutputSize];
        var boundsUpper = new float[boundsLower.Length];
        network.IntervalBounds(lower, upper, boundsLower, boundsUpper);
        return (boundsLower, boundsUpper);
    }

    /// <summary>Samples of about the statistics' scale: mean ± 2 deviations per feature, and labels.</summary>
    private static (float[] Features, int[] Labels) RawSamples(int count, int seed)
    {
        var random = new Random(seed);
        int inputs = Statistics.Mean.Count;
        var features = new float[count * inputs];
        for (int i = 0; i < features.Length; i++)
        {
            int f = i % inputs;
            features[i] = Statistics.Mean[f] + (float)(4 * random.NextDouble() - 2) * Statistics.StandardDeviation[f];
        }

        return (features, [.. Enumerable.Range(0, count).Select(_ => random.Next(3))]);
    }

    /// <summary>Each value moved by <paramref name="deviations"/> of its feature's standard deviation.</summary>
    private static float[] Shifted(float[] raw, float deviations) =>
        [.. raw.Select((value, i) => value + deviations * Statistics.StandardDeviation[i % Statistics.Mean.Count])];

    /// <summary>(x − mean) / deviation, as the engines compute it.</summary>
    private static float[] ByHand(float[] raw) =>
        [.. raw.Select((value, i) => (value - Statistics.Mean[i % Statistics.Mean.Count]) / Statistics.StandardDeviation[i % Statistics.Mean.Count])];

    private static void AssertClose(float[] expected, float[] actual)
    {
        float scale = expected.Max(Math.Abs);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-4f * (scale + 1e-3f), $"value {i}: expected {expected[i]:R}, got {actual[i]:R}");
        }
    }
}
