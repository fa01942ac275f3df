using System.Collections.Immutable;
using FusedNets.Reference;
using Xunit;

namespace FusedNets.Tests.Reference;

/// <summary>
/// The SGD step against values worked out by hand. Hyperparameters and values are binary fractions, so every
/// expected number is exact in double precision.
/// </summary>
public class ReferenceSgdTests
{
    // Parameters [w0, w1, b] of a 2 -> 1 layer, and a fixed gradient to step with.
    private static readonly float[] Start = [0.5f, -0.5f, 0.25f];
    private static readonly double[] Gradient = [1, 2, 3];

    [Fact]
    public void Plain_SGD_subtracts_the_learning_rate_times_the_gradient()
    {
        ReferenceNetwork network = TwoToOne();

        network.Step(Gradient, new Sgd(0.5f).ToStep());

        Assert.Equal([0.5 - 0.5, -0.5 - 1, 0.25 - 1.5], network.Parameters);
    }

    [Fact]
    public void Momentum_steps_along_a_velocity_that_accumulates_the_gradients()
    {
        ReferenceNetwork network = TwoToOne();
        SgdStep sgd = new Sgd(0.5f, momentum: 0.5f).ToStep();

        // Step 1: v = g, w -= 0.5 g. Step 2: v = 0.5 g + g = 1.5 g, w -= 0.75 g. In all w = w0 - 1.25 g.
        network.Step(Gradient, sgd);
        network.Step(Gradient, sgd);

        Assert.Equal([1.5, 3, 4.5], network.Momentum);
        Assert.Equal([0.5 - 1.25, -0.5 - 2.5, 0.25 - 3.75], network.Parameters);
    }

    [Fact]
    public void Nesterov_momentum_steps_along_the_gradient_plus_momentum_times_the_new_velocity()
    {
        ReferenceNetwork network = TwoToOne();
        SgdStep sgd = new Sgd(0.5f, momentum: 0.5f, nesterov: true).ToStep();

        // Step 1: v = g, w -= 0.5 (g + 0.5 g) = 0.75 g. Step 2: v = 1.5 g, w -= 0.5 (g + 0.75 g) = 0.875 g.
        network.Step(Gradient, sgd);
        network.Step(Gradient, sgd);

        Assert.Equal([1.5, 3, 4.5], network.Momentum);
        Assert.Equal([0.5 - 1.625, -0.5 - 3.25, 0.25 - 4.875], network.Parameters);
    }

    [Fact]
    public void Weight_decay_adds_the_decay_times_the_weight_to_weight_gradients_but_leaves_biases_alone()
    {
        ReferenceNetwork network = TwoToOne();

        network.Step(Gradient, new Sgd(0.5f, weightDecay: 0.25f).ToStep());

        // Weights: g = [1 + 0.25 * 0.5, 2 + 0.25 * -0.5] = [1.125, 1.875]. Bias: g = 3.
        Assert.Equal([1.125, 1.875, 3], network.Momentum);
        Assert.Equal([0.5 - 0.5625, -0.5 - 0.9375, 0.25 - 1.5], network.Parameters);
    }

    [Fact]
    public void Weight_decay_enters_the_velocity_so_momentum_carries_it_forward()
    {
        ReferenceNetwork network = TwoToOne();
        SgdStep sgd = new Sgd(0.5f, momentum: 0.5f, weightDecay: 0.25f).ToStep();

        network.Step(Gradient, sgd);
        network.Step(Gradient, sgd);

        // Step 1: w0 = 0.5, g = 1.125, v = 1.125, w = 0.5 - 0.5625 = -0.0625.
        // Step 2: g = 1 + 0.25 * -0.0625 = 0.984375, v = 0.5625 + 0.984375 = 1.546875, w = -0.0625 - 0.7734375.
        Assert.Equal(1.546875, network.Momentum[0]);
        Assert.Equal(-0.8359375, network.Parameters[0]);
    }

    [Fact]
    public void Train_batch_returns_the_loss_before_the_step_and_steps_with_the_batch_gradient()
    {
        NetworkArchitecture architecture = TestArchitectures.Mlp(Activation.Gelu, Loss.SoftmaxCrossEntropy);
        ReferenceNetwork trained = TestArchitectures.RandomReference(architecture, seed: 1);
        ReferenceNetwork stepped = TestArchitectures.RandomReference(architecture, seed: 1);
        TestBatch batch = TestArchitectures.RandomBatch(architecture, size: 4, seed: 2);
        SgdStep sgd = new Sgd(0.1f, momentum: 0.9f).ToStep();

        double loss = trained.TrainBatch(batch, sgd);
        ReferenceGradients gradients = stepped.Gradients(batch);
        stepped.Step(gradients.Parameters, sgd);

        Assert.Equal(gradients.Loss, loss);
        Assert.Equal(stepped.Parameters, trained.Parameters);
        Assert.Equal(stepped.Momentum, trained.Momentum);
    }

    [Theory]
    [InlineData(Loss.SoftmaxCrossEntropy)]
    [InlineData(Loss.MeanSquaredError)]
    public void Repeated_steps_on_one_batch_drive_its_loss_down(Loss loss)
    {
        NetworkArchitecture architecture = TestArchitectures.Mlp(Activation.Tanh, loss);
        ReferenceNetwork network = TestArchitectures.RandomReference(architecture, seed: 1);
        TestBatch batch = TestArchitectures.RandomBatch(architecture, size: 8, seed: 2);
        SgdStep sgd = new Sgd(0.1f, momentum: 0.9f).ToStep();

        double first = network.TrainBatch(batch, sgd);
        for (int step = 0; step < 100; step++)
        {
            network.TrainBatch(batch, sgd);
        }

        Assert.True(network.MeanLoss(batch) < 0.5 * first, $"loss went from {first} to {network.MeanLoss(batch)}");
    }

    [Theory]
    [MemberData(nameof(TestArchitectures.EveryMaskWithEveryLoss), MemberType = typeof(TestArchitectures))]
    public void Masked_weights_and_their_momentum_stay_exactly_zero_across_many_steps(string mask, Loss loss)
    {
        NetworkArchitecture architecture = TestArchitectures.Masked(mask, loss);
        float[]?[] masks = TestArchitectures.Masks(architecture);
        ReferenceNetwork network = TestArchitectures.RandomReference(architecture, seed: 1);
        SgdStep sgd = new Sgd(0.05f, momentum: 0.9f, nesterov: true, weightDecay: 0.01f).ToStep();
        double[] start = [.. network.Parameters];

        for (int step = 0; step < 200; step++)
        {
            network.TrainBatch(TestArchitectures.RandomBatch(architecture, size: 4, seed: step), sgd);
        }

        for (int l = 0; l < masks.Length; l++)
        {
            int offset = architecture.WeightOffset(l);
            for (int i = 0; i < masks[l]!.Length; i++)
            {
                int p = offset + i;
                if (masks[l]![i] == 0)
                {
                    Assert.True(network.Parameters[p] == 0 && network.Momentum[p] == 0, $"masked parameter {p}: {network.Parameters[p]}, momentum {network.Momentum[p]}");
                }
                else
                {
                    Assert.NotEqual(start[p], network.Parameters[p]);
                }
            }
        }
    }

    [Fact]
    public void A_step_ignores_any_gradient_given_for_a_masked_weight()
    {
        NetworkArchitecture architecture = TestArchitectures.Masked("Banded", Loss.MeanSquaredError);
        ReferenceNetwork network = TestArchitectures.RandomReference(architecture, seed: 1);
        double[] ones = [.. Enumerable.Repeat(1.0, architecture.ParameterCount)];

        network.Step(ones, new Sgd(0.1f, momentum: 0.5f, weightDecay: 0.1f).ToStep());

        // W[0, 2] of the banded hidden layer is masked (|0 - 2| > 1).
        int masked = architecture.WeightOffset(0) + 2;
        Assert.Equal(0.0, network.Parameters[masked]);
        Assert.Equal(0.0, network.Momentum[masked]);
    }

    /// <summary>A 2 → 1 identity layer starting at <see cref="Start"/>.</summary>
    private static ReferenceNetwork TwoToOne()
    {
        var architecture = new NetworkArchitecture("TwoToOne", Loss.MeanSquaredError, "X", 2,
            ImmutableArray.Create<LayerArchitecture>(new DenseLayerArchitecture("Layer", 1, 2, Activation.Identity, LayerMask.None)));
        return new ReferenceNetwork(architecture, Start, [null]);
    }
}
