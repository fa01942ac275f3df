using System.Collections.Immutable;
using FusedNets.Reference;
using Xunit;

namespace FusedNets.Tests.Reference;

/// <summary>
/// The reference's Adam and AdamW against the algorithm of PyTorch's documentation (<c>torch.optim.Adam</c> and
/// <c>torch.optim.AdamW</c>), implemented a second time here, line by line from that pseudocode, in double, and against
/// what follows from it by hand. Every engine is then tested against the reference.
/// </summary>
public class ReferenceAdamTests
{
    // Parameters [w0, w1, b] of a 2 -> 1 layer.
    private static readonly float[] Start = [0.5f, -0.5f, 0.25f];

    [Fact]
    public void A_constant_gradient_moves_every_parameter_by_the_learning_rate_each_step()
    {
        // With g fixed, the bias corrections make m̂ = g and v̂ = g² at every t: each step is γ g / (|g| + ε).
        ReferenceNetwork network = TwoToOne();
        double[] gradient = [1, -2, 3];
        OptimizerStep[] steps = Steps(new Adam(0.5f), count: 3);

        foreach (OptimizerStep step in steps)
        {
            network.Step(gradient, step);
        }

        for (int p = 0; p < 3; p++)
        {
            double expected = Start[p] - 3 * 0.5 * gradient[p] / (Math.Abs(gradient[p]) + 1e-8);
            Assert.Equal(expected, network.Parameters[p], 12);
        }
    }

    [Theory]
    [InlineData("Adam")]
    [InlineData("Adam, weight decay")]
    [InlineData("AdamW")]
    [InlineData("Adam, betas 0.5 and 0.75")]
    public void Three_hundred_steps_follow_PyTorchs_documented_algorithm(string name)
    {
        Optimizer optimizer = name switch
        {
            "Adam" => new Adam(),
            "Adam, weight decay" => new Adam(0.01f, weightDecay: 0.1f),
            "AdamW" => new AdamW(0.01f, weightDecay: 0.1f),
            _ => new Adam(0.02f, beta1: 0.5f, beta2: 0.75f, epsilon: 1e-3f),
        };
        ReferenceNetwork network = TwoToOne();
        var documented = new DocumentedAdam(optimizer, Start);

        for (int t = 1; t <= 300; t++)
        {
            // Gradients of changing sign and size, like a minibatch's.
            double[] gradient = [Math.Sin(0.3 * t), 0.1 * Math.Cos(0.7 * t) + 0.05, 1e-3 * Math.Sin(1.1 * t)];
            network.Step(gradient, optimizer.ToStep(optimizer.LearningRate, t));
            documented.Step(gradient);
        }

        for (int p = 0; p < 3; p++)
        {
            Assert.Equal(documented.Theta[p], network.Parameters[p], 12);
            Assert.Equal(documented.M[p], network.Momentum[p], 12);
            Assert.Equal(documented.V[p], network.SecondMoment[p], 12);
        }
    }

    [Fact]
    public void Adams_weight_decay_adds_to_weight_gradients_and_AdamWs_shrinks_weights_but_neither_touches_biases()
    {
        double[] zero = [0, 0, 0];
        ReferenceNetwork adam = TwoToOne(), adamW = TwoToOne();

        adam.Step(zero, new Adam(0.1f, weightDecay: 0.5f).ToStep(0.1f, 1));
        adamW.Step(zero, new AdamW(0.1f, weightDecay: 0.5f).ToStep(0.1f, 1));

        // Adam: g = 0.5 w, so the first step moves w by γ sign(w); the bias, with g = 0, stays.
        Assert.Equal([0.5 - 0.1, -0.5 + 0.1, 0.25], adam.Parameters, new Tolerance(1e-7));

        // AdamW: w shrinks by 1 − γλ = 0.95 and the step itself is 0 / (0 + ε) = 0; the bias stays.
        Assert.Equal([0.5 * 0.95, -0.5 * 0.95, 0.25], adamW.Parameters, new Tolerance(1e-12));
    }

    [Fact]
    public void The_hyperparameters_enter_as_the_decimals_they_were_written_as()
    {
        // 0.999f is 0.99900001287…: bias corrections from it would drift from PyTorch's, whose β2 is the double 0.999.
        ReferenceNetwork network = TwoToOne();
        var optimizer = new Adam(0.001f, beta2: 0.999f);
        double[] gradient = [1, 1, 1];
        network.Step(gradient, optimizer.ToStep(0.001f, 1));

        double v = (1 - 0.999) * 1;
        Assert.Equal(v, network.SecondMoment[0], 15);
    }

    [Theory]
    [MemberData(nameof(TestArchitectures.EveryMaskWithEveryLoss), MemberType = typeof(TestArchitectures))]
    public void Masked_weights_and_both_moments_stay_exactly_zero_under_AdamW(string mask, Loss loss)
    {
        NetworkArchitecture architecture = TestArchitectures.Masked(mask, loss);
        float[]?[] masks = TestArchitectures.Masks(architecture);
        ReferenceNetwork network = TestArchitectures.RandomReference(architecture, seed: 1);
        var adamW = new AdamW(0.01f, weightDecay: 0.1f);

        for (int t = 1; t <= 100; t++)
        {
            network.TrainBatch(TestArchitectures.RandomBatch(architecture, size: 4, seed: t), adamW.ToStep(0.01f, t));
        }

        for (int l = 0; l < masks.Length; l++)
        {
            for (int i = 0; i < masks[l]!.Length; i++)
            {
                int p = architecture.WeightOffset(l) + i;
                if (masks[l]![i] == 0)
                {
                    Assert.True(network.Parameters[p] == 0 && network.Momentum[p] == 0 && network.SecondMoment[p] == 0,
                        $"masked parameter {p}: {network.Parameters[p]}, moments {network.Momentum[p]}, {network.SecondMoment[p]}");
                }
            }
        }
    }

    [Theory]
    [InlineData(1f, 0.999f, 1e-8f, "beta1")]
    [InlineData(0.9f, -0.1f, 1e-8f, "beta2")]
    [InlineData(0.9f, float.NaN, 1e-8f, "beta2")]
    [InlineData(0.9f, 0.999f, 0f, "epsilon")]
    public void Adam_refuses_betas_outside_0_to_1_and_an_epsilon_that_is_not_positive(float beta1, float beta2, float epsilon, string parameter)
    {
        Assert.Equal(parameter, Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(beta1: beta1, beta2: beta2, epsilon: epsilon)).ParamName);
        Assert.Equal(parameter, Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW(beta1: beta1, beta2: beta2, epsilon: epsilon)).ParamName);
    }

    [Fact]
    public void The_defaults_are_PyTorchs()
    {
        var adam = new Adam();
        var adamW = new AdamW();

        Assert.Equal((1e-3f, 0.9f, 0.999f, 1e-8f, 0f), (adam.LearningRate, adam.Beta1, adam.Beta2, adam.Epsilon, adam.WeightDecay));
        Assert.Equal((1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f), (adamW.LearningRate, adamW.Beta1, adamW.Beta2, adamW.Epsilon, adamW.WeightDecay));
        Assert.Equal("AdamW(lr=0.001, betas=(0.9, 0.999), eps=1E-08, weightDecay=0.01)", adamW.ToString());
    }

    private static OptimizerStep[] Steps(Optimizer optimizer, int count) =>
        [.. Enumerable.Range(1, count).Select(t => optimizer.ToStep(optimizer.LearningRate, t))];

    /// <summary>A 2 → 1 identity layer starting at <see cref="Start"/>.</summary>
    private static ReferenceNetwork TwoToOne()
    {
        var architecture = new NetworkArchitecture("TwoToOne", Loss.MeanSquaredError, "X", 2,
            ImmutableArray.Create<LayerArchitecture>(new DenseLayerArchitecture("Layer", 1, 2, Activation.Identity, LayerMask.None)));
        return new ReferenceNetwork(architecture, Start, [null]);
    }

    /// <summary>
    /// PyTorch's documented Adam and AdamW, as its pseudocode writes them, for the parameters [w0, w1, b] of
    /// <see cref="TwoToOne"/>: weight decay on the weights only, as FusedNets applies it.
    /// <code>
    ///   g_t ← ∇f(θ_{t−1});  Adam: g_t ← g_t + λθ_{t−1}   AdamW: θ_t ← θ_{t−1} − γλθ_{t−1}
    ///   m_t ← β1 m_{t−1} + (1 − β1) g_t;   v_t ← β2 v_{t−1} + (1 − β2) g_t²
    ///   m̂_t ← m_t / (1 − β1^t);   v̂_t ← v_t / (1 − β2^t);   θ_t ← θ_t − γ m̂_t / (√v̂_t + ε)
    /// </code>
    /// </summary>
    private sealed class DocumentedAdam
    {
        private readonly double _gamma, _beta1, _beta2, _epsilon, _lambda;
        private readonly bool _decoupled;
        private int _t;

        public DocumentedAdam(Optimizer optimizer, float[] start)
        {
            // The decimals the test's optimizers were written with, as a Python script would hold them.
            (_gamma, _beta1, _beta2, _epsilon, _lambda, _decoupled) = optimizer switch
            {
                Adam a => (Decimal(a.LearningRate), Decimal(a.Beta1), Decimal(a.Beta2), Decimal(a.Epsilon), Decimal(a.WeightDecay), false),
                AdamW a => (Decimal(a.LearningRate), Decimal(a.Beta1), Decimal(a.Beta2), Decimal(a.Epsilon), Decimal(a.WeightDecay), true),
                _ => throw new ArgumentException("Not Adam.", nameof(optimizer)),
            };
            Theta = [.. start.Select(value => (double)value)];
        }

        public double[] Theta { get; }

        public double[] M { get; } = new double[3];

        public double[] V { get; } = new double[3];

        public void Step(double[] gradient)
        {
            _t++;
            for (int p = 0; p < Theta.Length; p++)
            {
                double lambda = p < 2 ? _lambda : 0;
                double g = gradient[p];
                if (_decoupled)
                {
                    Theta[p] = Theta[p] - _gamma * lambda * Theta[p];
                }
                else
                {
                    g += lambda * Theta[p];
                }

                M[p] = _beta1 * M[p] + (1 - _beta1) * g;
                V[p] = _beta2 * V[p] + (1 - _beta2) * g * g;
                double mHat = M[p] / (1 - Math.Pow(_beta1, _t));
                double vHat = V[p] / (1 - Math.Pow(_beta2, _t));
                Theta[p] = Theta[p] - _gamma * mHat / (Math.Sqrt(vHat) + _epsilon);
            }
        }

        private static double Decimal(float value) => double.Parse(value.ToString(System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Equality within an absolute tolerance, for whole arrays.</summary>
    private sealed class Tolerance(double absolute) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= absolute;

        public int GetHashCode(double obj) => 0;
    }
}
