using FusedNets.Reference;
using FusedNets.Tests.Reference;

namespace FusedNets.Tests.Research;

/// <summary>
/// The reference's interval bound propagation: bounds a small network by hand computes, bounds that hold every point
/// of their box for every kind and activation, GELU's dip below zero, and the gradient of the interval loss against
/// finite differences, with and without the elision of the last layer.
/// </summary>
public class ReferenceIntervalTests
{
    /// <summary>
    /// 2 → 2 (ReLU) → 2: W1 = [[1, −2], [3, 0.5]], b1 = [0.5, −1]; W2 = [[2, 1], [1, 1]], b2 = [0, 0.25]; x1 in [−1, 1],
    /// x2 in [0, 2]. By hand: z1 in [−1 − 4 + 0.5, 1 + 0.5] = [−4.5, 1.5], z2 in [−3 − 1, 3 + 1 − 1] = [−4, 3]; after
    /// ReLU h1 in [0, 1.5], h2 in [0, 3]; y1 = 2 h1 + h2 in [0, 6], y2 = h1 + h2 + 0.25 in [0.25, 4.75].
    /// </summary>
    internal static readonly NetworkArchitecture HandNetwork = new("Hand", Loss.SoftmaxCrossEntropy, "X", 2,
    [
        new DenseLayerArchitecture("Hidden", 2, 2, Activation.Relu, LayerMask.None),
        new DenseLayerArchitecture("Logits", 2, 2, Activation.Identity, LayerMask.None),
    ]);

    internal static readonly float[] HandParameters = [1, -2, 3, 0.5f, 0.5f, -1, 2, 1, 1, 1, 0, 0.25f];

    internal static readonly float[] HandLower = [-1, 0];

    internal static readonly float[] HandUpper = [1, 2];

    internal static readonly double[] HandOutputLower = [0, 0.25];

    internal static readonly double[] HandOutputUpper = [6, 4.75];

    [Fact]
    public void Bounds_of_a_small_network_equal_the_hand_computed_ones()
    {
        var network = new ReferenceNetwork(HandNetwork, HandParameters, [null, null]);

        (double[] lower, double[] upper) = network.IntervalBounds(Widen(HandLower), Widen(HandUpper), batch: 1);

        Assert.Equal(HandOutputLower, lower);
        Assert.Equal(HandOutputUpper, upper);
    }

    [Fact]
    public void Eliding_the_last_layer_bounds_logit_differences_tighter_than_the_output_bounds_do()
    {
        var network = new ReferenceNetwork(HandNetwork, HandParameters, [null, null]);

        double[] differences = network.LogitDifferenceBounds([-1, 0, -1, 0], [1, 2, 1, 2], [0, 1], batch: 2);

        // Label 0: y2 − y1 = −h1 + 0.25 ≤ 0.25, where the output bounds give 4.75 − 0. Label 1: y1 − y2 = h1 − 0.25 ≤ 1.25, not 6 − 0.25.
        Assert.Equal([0, 0.25, 1.25, 0], differences);
    }

    [Fact]
    public void Gelu_bounds_reach_down_to_its_minimum_when_the_interval_holds_it()
    {
        ActivationRule gelu = Activations.Rule(Activation.Gelu);
        double minimumAt = Generated.GeluKernel.ReferenceMinimumAt;

        Assert.InRange(minimumAt, -0.7526, -0.7524);
        Assert.InRange(gelu.Reference(minimumAt), -0.17005, -0.17003);
        Assert.Equal(gelu.Reference(minimumAt), gelu.ReferenceBounds(-2, 1).Lower);
        Assert.Equal(gelu.Reference(-2), gelu.ReferenceBounds(-3, -2).Lower);
        Assert.Equal(gelu.Reference(-3), gelu.ReferenceBounds(-3, -2).Upper);
        Assert.Equal(Math.Max(gelu.Reference(-3), gelu.Reference(0.1)), gelu.ReferenceBounds(-3, 0.1).Upper);
    }

    [Theory]
    [MemberData(nameof(IntervalTestData.NetworkNames), MemberType = typeof(IntervalTestData))]
    public void Bounds_hold_every_point_of_their_box(string name)
    {
        NetworkArchitecture architecture = IntervalTestData.Networks[name]();
        ReferenceNetwork network = TestArchitectures.RandomReference(architecture, seed: 3);
        (float[] lower, float[] upper) = IntervalTestData.RandomBoxes(architecture, count: 4, seed: 4);

        (double[] outputLower, double[] outputUpper) = network.IntervalBounds(Widen(lower), Widen(upper), batch: 4);

        int inputs = architecture.InputSize, outputs = architecture.OutputSize;
        for (int box = 0; box < 4; box++)
        {
            const int Points = 500;
            float[] points = IntervalTestData.PointsIn(lower, upper, box, inputs, Points, seed: box);
            double[] values = network.Forward(Widen(points), Points);
            for (int p = 0; p < Points; p++)
            {
                for (int o = 0; o < outputs; o++)
                {
                    double value = values[p * outputs + o], lo = outputLower[box * outputs + o], hi = outputUpper[box * outputs + o];
                    double slack = 1e-12 * (1 + Math.Abs(value));
                    Assert.True(lo - slack <= value && value <= hi + slack, $"box {box}, point {p}, output {o}: {value:R} outside [{lo:R}, {hi:R}]");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(IntervalTestData.NetworkNames), MemberType = typeof(IntervalTestData))]
    public void Interval_loss_gradients_match_finite_differences(string name)
    {
        NetworkArchitecture architecture = IntervalTestData.Networks[name]();
        ReferenceNetwork network = TestArchitectures.RandomReference(architecture, seed: 5);
        (float[] lowerFloats, float[] upperFloats) = IntervalTestData.RandomBoxes(architecture, count: 3, seed: 6, radius: 0.1f);
        double[] lower = Widen(lowerFloats), upper = Widen(upperFloats);
        int[] labels = [0, 2 % architecture.OutputSize, 1];

        ReferenceIntervalGradients gradients = network.IntervalLossGradients(lower, upper, labels, batch: 3);

        double IntervalLoss() => network.IntervalLossGradients(lower, upper, labels, batch: 3).Loss;
        bool[] masked = MaskedParameters(architecture);
        for (int p = 0; p < gradients.Parameters.Length; p++)
        {
            if (masked[p])
            {
                Assert.Equal(0, gradients.Parameters[p]);
                continue;
            }

            double original = network.Parameters[p];
            double numerical = FiniteDifferences.Central(value => { network.Parameters[p] = value; return IntervalLoss(); }, original);
            network.Parameters[p] = original;
            FiniteDifferences.AssertClose(numerical, gradients.Parameters[p], $"dloss/dparameter[{p}]");
        }

        for (int i = 0; i < lower.Length; i++)
        {
            double lo = lower[i], hi = upper[i];
            FiniteDifferences.AssertClose(FiniteDifferences.Central(value => { lower[i] = value; return IntervalLoss(); }, lo), gradients.Lower[i], $"dloss/dlower[{i}]");
            lower[i] = lo;
            FiniteDifferences.AssertClose(FiniteDifferences.Central(value => { upper[i] = value; return IntervalLoss(); }, hi), gradients.Upper[i], $"dloss/dupper[{i}]");
            upper[i] = hi;
        }
    }

    [Fact]
    public void The_certified_training_loss_mixes_the_ordinary_and_the_interval_loss_and_its_gradient_matches_finite_differences()
    {
        NetworkArchitecture architecture = TestArchitectures.ConvNet(Activation.Relu, Loss.SoftmaxCrossEntropy);
        ReferenceNetwork network = TestArchitectures.RandomReference(architecture, seed: 7);
        TestBatch batch = TestArchitectures.RandomBatch(architecture, 3, seed: 8);
        var lower = new float[batch.Inputs.Length];
        var upper = new float[batch.Inputs.Length];
        IntervalBoxes.Around(batch.Inputs, 0.05f, -1, 1, lower, upper);

        ReferenceGradients gradients = network.CertifiedGradients(batch.InputsAsDouble, Widen(lower), Widen(upper), batch.Labels, batch.Size, kappa: 0.3);

        double MixedLoss() => network.CertifiedGradients(batch.InputsAsDouble, Widen(lower), Widen(upper), batch.Labels, batch.Size, kappa: 0.3).Loss;
        double expected = 0.3 * network.MeanLoss(batch) + 0.7 * network.IntervalLossGradients(Widen(lower), Widen(upper), batch.Labels, batch.Size).Loss;
        Assert.Equal(expected, gradients.Loss, 12);
        for (int p = 0; p < gradients.Parameters.Length; p++)
        {
            double original = network.Parameters[p];
            double numerical = FiniteDifferences.Central(value => { network.Parameters[p] = value; return MixedLoss(); }, original);
            network.Parameters[p] = original;
            FiniteDifferences.AssertClose(numerical, gradients.Parameters[p], $"dloss/dparameter[{p}]");
        }
    }

    /// <summary>True for each weight a mask fixes at zero, in the flat parameter layout: it is a constant, not a parameter.</summary>
    private static bool[] MaskedParameters(NetworkArchitecture architecture)
    {
        var masked = new bool[architecture.ParameterCount];
        float[]?[] masks = TestArchitectures.Masks(architecture);
        for (int l = 0; l < masks.Length; l++)
        {
            for (int i = 0; masks[l] is { } mask && i < mask.Length; i++)
            {
                masked[architecture.WeightOffset(l) + i] = mask[i] == 0;
            }
        }

        return masked;
    }

    private static double[] Widen(float[] values) => Array.ConvertAll(values, value => (double)value);
}
