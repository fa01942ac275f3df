using System.Collections.Immutable;
using FusedNets.Reference;
using Xunit;

namespace FusedNets.Tests.Reference;

public class ReferenceNetworkTests
{
    [Fact]
    public void A_dense_layer_computes_the_activation_of_W_x_plus_b_for_each_sample()
    {
        // W = [[1, 2, 3], [-1, 0.5, -2]], b = [0.5, -1], leaky ReLU.
        ReferenceNetwork network = SingleLayer(3, 2, Activation.LeakyRelu, Loss.MeanSquaredError, [1, 2, 3, -1, 0.5f, -2, 0.5f, -1]);

        double[] y = network.Forward([1, -1, 2, 0, 0, 0], batch: 2);

        // Sample 0: z = [1 - 2 + 6 + 0.5, -1 - 0.5 - 4 - 1] = [5.5, -6.5]. Sample 1: z = b.
        Assert.Equal([5.5, -0.065, 0.5, -0.01], y, (a, b) => Math.Abs(a - b) < 1e-15);
    }

    [Fact]
    public void Layers_run_in_order_each_feeding_the_next()
    {
        // 1 -> 1 (ReLU) -> 1 (identity): y = 3 relu(2 x - 1) + 0.5.
        var architecture = new NetworkArchitecture("Chain", Loss.MeanSquaredError, "X", 1,
        [
            new DenseLayerArchitecture("First", 1, 1, Activation.Relu, LayerMask.None),
            new DenseLayerArchitecture("Second", 1, 1, Activation.Identity, LayerMask.None),
        ]);
        var network = new ReferenceNetwork(architecture, [2, -1, 3, 0.5f], [null, null]);

        Assert.Equal([0.5, 9.5], network.Forward([0, 2], batch: 2));
    }

    [Fact]
    public void Cross_entropy_with_every_output_equal_is_the_log_of_the_class_count()
    {
        ReferenceNetwork network = SingleLayer(3, 4, Activation.Identity, Loss.SoftmaxCrossEntropy, new float[16]);

        double[] losses = network.SampleLosses([1, 2, 3, -1, 0, 1], [0, 3], [], batch: 2);

        Assert.Equal([Math.Log(4), Math.Log(4)], losses);
    }

    [Fact]
    public void Cross_entropy_is_logsumexp_of_the_outputs_minus_the_labelled_output_and_stays_finite_for_huge_outputs()
    {
        // Zero weights, so the outputs are the bias [1000, 0, -1000] for every sample.
        ReferenceNetwork network = SingleLayer(1, 3, Activation.Identity, Loss.SoftmaxCrossEntropy, [0, 0, 0, 1000, 0, -1000]);

        double[] losses = network.SampleLosses([0, 0, 0], [0, 1, 2], [], batch: 3);

        // logsumexp([1000, 0, -1000]) = 1000 + log(1 + exp(-1000) + exp(-2000)) = 1000 in double precision.
        Assert.Equal([0.0, 1000.0, 2000.0], losses);
    }

    [Fact]
    public void Cross_entropy_applies_to_the_last_layers_activation_not_to_its_pre_activation()
    {
        // A sigmoid output layer with zero weights and bias [0, 10]: the loss sees [0.5, sigmoid(10)], not [0, 10].
        ReferenceNetwork network = SingleLayer(1, 2, Activation.Sigmoid, Loss.SoftmaxCrossEntropy, [0, 0, 0, 10]);
        double y1 = 1 / (1 + Math.Exp(-10));

        double loss = network.SampleLosses([0], [0], [], batch: 1)[0];

        Assert.Equal(Math.Log(Math.Exp(0.5) + Math.Exp(y1)) - 0.5, loss, 14);
    }

    [Fact]
    public void Mean_squared_error_of_a_sample_is_the_mean_over_outputs_and_the_batch_loss_the_mean_over_samples()
    {
        // Zero weights, so the outputs are the bias [1, 2] for every sample.
        ReferenceNetwork network = SingleLayer(1, 2, Activation.Identity, Loss.MeanSquaredError, [0, 0, 1, 2]);
        double[] inputs = [0, 0];
        double[] targets = [0, 0, 1, 2];

        double[] losses = network.SampleLosses(inputs, [], targets, batch: 2);
        ReferenceGradients gradients = network.Gradients(inputs, [], targets, batch: 2);

        Assert.Equal([(1.0 + 4.0) / 2, 0.0], losses);
        // The mean over all batch × output elements, as PyTorch's MSELoss(reduction="mean").
        Assert.Equal(1.25, gradients.Loss);
    }

    [Fact]
    public void The_gradient_of_cross_entropy_with_respect_to_the_outputs_is_softmax_minus_one_hot_over_the_batch_size()
    {
        // Identity layer with zero weights: dLoss/dbias is dLoss/dy summed over the batch.
        ReferenceNetwork network = SingleLayer(1, 4, Activation.Identity, Loss.SoftmaxCrossEntropy, new float[8]);

        ReferenceGradients gradients = network.Gradients([0, 0], [2, 2], [], batch: 2);

        Assert.Equal([0.25, 0.25, -0.75, 0.25], gradients.Parameters[4..]);
    }

    [Theory]
    [MemberData(nameof(TestArchitectures.EveryActivationWithEveryLoss), MemberType = typeof(TestArchitectures))]
    public void The_loss_reported_with_the_gradients_is_the_mean_of_the_sample_losses(Activation hidden, Loss loss)
    {
        NetworkArchitecture architecture = TestArchitectures.Mlp(hidden, loss);
        ReferenceNetwork network = TestArchitectures.RandomReference(architecture, seed: 1);
        TestBatch batch = TestArchitectures.RandomBatch(architecture, size: 3, seed: 2);

        Assert.Equal(network.MeanLoss(batch), network.Gradients(batch).Loss, 15);
    }

    [Fact]
    public void Masked_weights_are_zero_from_the_start_even_when_the_given_parameters_are_not()
    {
        NetworkArchitecture architecture = TestArchitectures.Masked("Banded", Loss.SoftmaxCrossEntropy);
        float[]?[] masks = TestArchitectures.Masks(architecture);
        float[] parameters = [.. Enumerable.Repeat(1f, architecture.ParameterCount)];

        var network = new ReferenceNetwork(architecture, parameters, masks);

        for (int l = 0; l < masks.Length; l++)
        {
            int offset = architecture.WeightOffset(l);
            for (int i = 0; i < masks[l]!.Length; i++)
            {
                Assert.Equal((double)masks[l]![i], network.Parameters[offset + i]);
            }
        }
    }

    [Fact]
    public void The_network_keeps_its_own_copy_of_the_masks()
    {
        NetworkArchitecture architecture = TestArchitectures.Masked("Random", Loss.MeanSquaredError);
        float[]?[] masks = TestArchitectures.Masks(architecture);
        ReferenceNetwork network = new(architecture, TestArchitectures.RandomParameters(architecture, seed: 1), masks);
        TestBatch batch = TestArchitectures.RandomBatch(architecture, size: 2, seed: 2);
        double[] before = network.Gradients(batch).Parameters;

        Array.Fill(masks[0]!, 1f);

        Assert.Equal(before, network.Gradients(batch).Parameters);
    }

    [Fact]
    public void Mismatched_shapes_and_out_of_range_labels_are_rejected()
    {
        NetworkArchitecture architecture = TestArchitectures.Mlp(Activation.Relu, Loss.SoftmaxCrossEntropy);
        float[] parameters = TestArchitectures.RandomParameters(architecture, seed: 1);
        ReferenceNetwork network = new(architecture, parameters, TestArchitectures.Masks(architecture));
        double[] twoSamples = new double[2 * architecture.InputSize];

        Assert.Throws<ArgumentException>(() => new ReferenceNetwork(architecture, parameters[1..], [null, null]));
        Assert.Throws<ArgumentException>(() => new ReferenceNetwork(architecture, parameters, [null]));
        Assert.Throws<ArgumentException>(() => new ReferenceNetwork(architecture, parameters, [new float[3], null]));
        Assert.Throws<ArgumentException>(() => network.Forward(twoSamples, batch: 3));
        Assert.Throws<ArgumentException>(() => network.SampleLosses(twoSamples, [0], [], batch: 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => network.SampleLosses(twoSamples, [0, 4], [], batch: 2));
        Assert.Throws<ArgumentException>(() => network.Step(new double[3], new Sgd(0.1f).ToStep()));
    }

    /// <summary>One dense layer, <paramref name="inputs"/> → <paramref name="units"/>, with the given flat parameters.</summary>
    private static ReferenceNetwork SingleLayer(int inputs, int units, Activation activation, Loss loss, float[] parameters)
    {
        var architecture = new NetworkArchitecture("Single", loss, "X", inputs,
            ImmutableArray.Create<LayerArchitecture>(new DenseLayerArchitecture("Layer", units, inputs, activation, LayerMask.None)));
        return new ReferenceNetwork(architecture, parameters, [null]);
    }
}
