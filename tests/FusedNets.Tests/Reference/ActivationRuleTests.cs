using FusedNets.Reference;
using Xunit;

namespace FusedNets.Tests.Reference;

/// <summary>Each activation's double-precision reference rules, and the single-precision rules against them.</summary>
public class ActivationRuleTests
{
    // Negative and positive, near zero (but off the ReLU kink by far more than the finite-difference step),
    // and large enough to reach the saturated tails.
    private static readonly double[] Points = [-20, -6, -2.5, -1, -0.3, -1e-3, 1e-3, 0.3, 1, 2.5, 6, 20];

    public static TheoryData<Activation> EveryActivation => [.. TestArchitectures.EveryActivation];

    [Theory]
    [MemberData(nameof(EveryActivation))]
    public void Each_derivative_matches_central_finite_differences_of_its_activation(Activation activation)
    {
        foreach (double z in Points)
        {
            double numeric = FiniteDifferences.Central(value => Activations.Rule(activation).Reference(value), z);
            double analytic = Activations.Rule(activation).ReferenceDerivative(z, Activations.Rule(activation).Reference(z));
            FiniteDifferences.AssertClose(numeric, analytic, $"{activation}'(z = {z})");
        }
    }

    [Theory]
    [InlineData(Activation.Identity, 0.0, 1.0)]
    [InlineData(Activation.Relu, 0.0, 0.0)]
    [InlineData(Activation.LeakyRelu, 0.0, 0.01)]
    public void At_the_kink_z_equals_0_the_derivative_is_the_left_slope_as_in_PyTorch(Activation activation, double z, double slope) =>
        Assert.Equal(slope, Activations.Rule(activation).ReferenceDerivative(z, Activations.Rule(activation).Reference(z)));

    [Theory]
    [InlineData(Activation.Identity, -1.5, -1.5)]
    [InlineData(Activation.Relu, -1.5, 0.0)]
    [InlineData(Activation.Relu, 1.5, 1.5)]
    [InlineData(Activation.LeakyRelu, -1.5, -0.015)]
    [InlineData(Activation.Tanh, 0.0, 0.0)]
    [InlineData(Activation.Sigmoid, 0.0, 0.5)]
    [InlineData(Activation.Gelu, 1.0, 0.8411919906082768)]
    [InlineData(Activation.Gelu, -1.0, -0.15880800939172324)]
    [InlineData(Activation.Softplus, 0.0, 0.6931471805599453)]
    [InlineData(Activation.Softplus, 1.0, 1.3132616875182228)]
    public void Activations_take_their_textbook_values(Activation activation, double z, double y) =>
        Assert.Equal(y, Activations.Rule(activation).Reference(z), 15);

    [Fact]
    public void Softplus_neither_overflows_for_large_inputs_nor_loses_their_linear_part()
    {
        Assert.Equal(1000.0, Activations.Rule(Activation.Softplus).Reference(1000));
        Assert.Equal(0.0, Activations.Rule(Activation.Softplus).Reference(-1000));
        Assert.Equal(Math.Exp(-30), Activations.Rule(Activation.Softplus).Reference(-30), 1e-25);
    }

    [Fact]
    public void Sigmoid_saturates_to_0_and_1_without_producing_NaN()
    {
        Assert.Equal(0.0, Activations.Rule(Activation.Sigmoid).Reference(-1000));
        Assert.Equal(1.0, Activations.Rule(Activation.Sigmoid).Reference(1000));
        Assert.Equal(0.0, Activations.Rule(Activation.Softplus).ReferenceDerivative(-1000, 0));
    }

    [Theory]
    [MemberData(nameof(EveryActivation))]
    public void The_single_precision_rules_agree_with_the_reference_to_float_accuracy(Activation activation)
    {
        foreach (double z in Points)
        {
            double y = Activations.Rule(activation).Reference(z);
            double dy = Activations.Rule(activation).ReferenceDerivative(z, y);
            float yFloat = Activations.Apply(activation, (float)z);
            float dyFloat = Activations.Derivative(activation, (float)z, yFloat);
            Assert.True(Math.Abs(yFloat - y) <= 1e-6 * Math.Max(1, Math.Abs(y)), $"{activation}({z}): float {yFloat}, double {y}");
            Assert.True(Math.Abs(dyFloat - dy) <= 1e-6 * Math.Max(1, Math.Abs(dy)), $"{activation}'({z}): float {dyFloat}, double {dy}");
        }
    }
}
