using FusedNets.Reference;
using Xunit;

namespace FusedNets.Tests.Reference;

/// <summary>
/// The reference's backward pass checked against central finite differences of its own forward pass, for
/// every parameter and every input. Parameters and inputs are random in [-1, 1) with fixed seeds; a ReLU
/// pre-activation within the finite-difference step of its kink would make a check fail, and these seeds
/// have none.
/// </summary>
public class ReferenceGradientTests
{
    [Theory]
    [MemberData(nameof(TestArchitectures.EveryActivationWithEveryLoss), MemberType = typeof(TestArchitectures))]
    public void Every_parameter_gradient_matches_finite_differences_for_each_hidden_activation_and_loss(Activation hidden, Loss loss) =>
        AssertParameterGradientsMatchFiniteDifferences(TestArchitectures.Mlp(hidden, loss));

    [Theory]
    [MemberData(nameof(TestArchitectures.EveryActivationWithEveryLoss), MemberType = typeof(TestArchitectures))]
    public void Every_input_gradient_matches_finite_differences_for_each_hidden_activation_and_loss(Activation hidden, Loss loss) =>
        AssertInputGradientsMatchFiniteDifferences(TestArchitectures.Mlp(hidden, loss));

    [Theory]
    [MemberData(nameof(TestArchitectures.EveryActivationWithEveryLoss), MemberType = typeof(TestArchitectures))]
    public void Gradients_also_match_when_the_output_layer_has_the_activation_feeding_the_loss(Activation output, Loss loss)
    {
        NetworkArchitecture architecture = TestArchitectures.Mlp(Activation.Tanh, loss, output);
        AssertParameterGradientsMatchFiniteDifferences(architecture);
        AssertInputGradientsMatchFiniteDifferences(architecture);
    }

    [Theory]
    [MemberData(nameof(TestArchitectures.EveryMaskWithEveryLoss), MemberType = typeof(TestArchitectures))]
    public void Masked_layers_have_exactly_zero_gradient_on_masked_weights_and_correct_gradients_elsewhere(string mask, Loss loss)
    {
        NetworkArchitecture architecture = TestArchitectures.Masked(mask, loss);
        AssertParameterGradientsMatchFiniteDifferences(architecture);
        AssertInputGradientsMatchFiniteDifferences(architecture);
    }

    [Fact]
    public void Gradients_match_through_a_deeper_network_that_mixes_activations()
    {
        var architecture = new NetworkArchitecture("Deep", Loss.SoftmaxCrossEntropy, "X", 3,
        [
            new DenseLayerArchitecture("A", 6, 3, Activation.Gelu, LayerMask.None),
            new DenseLayerArchitecture("B", 6, 6, Activation.Sigmoid, TestArchitectures.Mask("Banded")),
            new DenseLayerArchitecture("C", 5, 6, Activation.LeakyRelu, LayerMask.None),
            new DenseLayerArchitecture("D", 3, 5, Activation.Softplus, LayerMask.None),
        ]);
        AssertParameterGradientsMatchFiniteDifferences(architecture);
        AssertInputGradientsMatchFiniteDifferences(architecture);
    }

    [Theory]
    [MemberData(nameof(TestArchitectures.EveryActivationWithEveryLoss), MemberType = typeof(TestArchitectures))]
    public void Gradients_match_through_convolutions_and_both_poolings_for_each_activation_and_loss(Activation activation, Loss loss)
    {
        NetworkArchitecture architecture = TestArchitectures.ConvNet(activation, loss);
        AssertParameterGradientsMatchFiniteDifferences(architecture);
        AssertInputGradientsMatchFiniteDifferences(architecture);
    }

    [Fact]
    public void Gradients_match_through_strided_padded_and_masked_convolutions()
    {
        NetworkArchitecture architecture = TestArchitectures.StridedConvNet(Loss.MeanSquaredError, LayerMask.Random(0.5, 3));
        AssertParameterGradientsMatchFiniteDifferences(architecture);
        AssertInputGradientsMatchFiniteDifferences(architecture);
    }

    private static void AssertParameterGradientsMatchFiniteDifferences(NetworkArchitecture architecture)
    {
        ReferenceNetwork network = TestArchitectures.RandomReference(architecture, seed: 11);
        TestBatch batch = TestArchitectures.RandomBatch(architecture, size: 3, seed: 12);
        float[]?[] masks = TestArchitectures.Masks(architecture);

        double[] gradient = network.Gradients(batch).Parameters;

        for (int l = 0; l < architecture.Layers.Length; l++)
        {
            LayerArchitecture layer = architecture.Layers[l];
            int p = architecture.ParameterOffset(l);
            foreach (ParameterTensor tensor in layer.Parameters)
            {
                for (int i = 0; i < tensor.Size; i++, p++)
                {
                    string what = $"d{layer.Name}.{tensor.Name}[{string.Join(", ", Index(tensor, i))}]";
                    if (tensor.Role == ParameterRole.Weight && masks[l] is { } mask && mask[i] == 0)
                    {
                        Assert.True(gradient[p] == 0, $"{what} is masked, so its gradient must be exactly 0, got {gradient[p]}.");
                    }
                    else
                    {
                        FiniteDifferences.AssertClose(FiniteDifferences.OfParameter(network, batch, p), gradient[p], what);
                    }
                }
            }
        }
    }

    /// <summary>The multi-index of flat entry <paramref name="flat"/> of <paramref name="tensor"/>, for messages.</summary>
    private static int[] Index(ParameterTensor tensor, int flat)
    {
        var index = new int[tensor.Shape.Length];
        for (int d = index.Length - 1; d >= 0; d--)
        {
            index[d] = flat % tensor.Shape[d];
            flat /= tensor.Shape[d];
        }

        return index;
    }

    private static void AssertInputGradientsMatchFiniteDifferences(NetworkArchitecture architecture)
    {
        ReferenceNetwork network = TestArchitectures.RandomReference(architecture, seed: 21);
        TestBatch batch = TestArchitectures.RandomBatch(architecture, size: 3, seed: 22);

        double[] gradient = network.Gradients(batch).Inputs;

        Assert.Equal(batch.Size * architecture.InputSize, gradient.Length);
        for (int i = 0; i < gradient.Length; i++)
        {
            string what = $"dinputs[{i / architecture.InputSize}, {i % architecture.InputSize}]";
            FiniteDifferences.AssertClose(FiniteDifferences.OfInput(network, batch, i), gradient[i], what);
        }
    }
}
