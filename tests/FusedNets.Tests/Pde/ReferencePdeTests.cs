using FusedNets.Generated;
using FusedNets.Reference;
using FusedNets.Tests.Reference;

namespace FusedNets.Tests.Pde;

/// <summary>
/// The double-precision reference of physics-informed training against finite differences: the derivatives it carries
/// forward against differences of the network's own output, and the loss's gradient against differences of the loss.
/// </summary>
public class ReferencePdeTests
{
    public static TheoryData<Activation, string> EveryActivationWithEveryEquation => PdeCases.EveryActivationWithEveryEquation();

    [Theory]
    [MemberData(nameof(EveryActivationWithEveryEquation))]
    public void The_derivatives_carried_forward_match_finite_differences_of_the_networks_output(Activation activation, string equation)
    {
        int inputs = PdeCases.Inputs(equation);
        NetworkArchitecture architecture = PdeCases.Mlp(inputs, activation);
        ReferenceNetwork network = TestArchitectures.RandomReference(architecture, seed: 3);
        var pde = new ReferencePde(network, PdeCases.Program(equation));
        PdeBatch batch = PdeCases.Batch(equation, seed: 5, 4);
        double U(double[] x) => network.Forward(x, 1)[0];

        for (int t = 0; t < batch.Terms.Length; t++)
        {
            PdeTerm term = batch.Terms[t];
            for (int s = 0; s < batch.Count(t); s++)
            {
                double[] x = [.. batch.Points(t).Slice(s * inputs, inputs).ToArray().Select(value => (double)value)];
                (double value, double[] first, double[] second) = pde.Derivatives(term, batch.Points(t).Slice(s * inputs, inputs));
                AssertClose(U(x), value, 1e-12, $"{term.Name}: u");
                for (int i = 0; i < first.Length; i++)
                {
                    AssertClose(Partial(U, x, i), first[i], 1e-7, $"{term.Name}: du/dx{i}");
                }

                double[] pure = [.. Enumerable.Range(0, inputs).Select(i => SecondPartial(U, x, i))];
                if (term.Derivatives == PdeDerivatives.Laplacian)
                {
                    AssertClose(term.SecondDerivativeInputs.Sum(i => pure[i]), second[0], 1e-5, $"{term.Name}: Laplacian over [{string.Join(", ", term.SecondDerivativeInputs)}]");
                }
                else
                {
                    for (int k = 0; k < second.Length; k++)
                    {
                        AssertClose(pure[term.SecondDerivativeInputs[k]], second[k], 1e-5, $"{term.Name}: d2u/dx{term.SecondDerivativeInputs[k]}2");
                    }
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(EveryActivationWithEveryEquation))]
    public void The_loss_gradient_matches_finite_differences_of_the_loss(Activation activation, string equation)
    {
        NetworkArchitecture architecture = PdeCases.Mlp(PdeCases.Inputs(equation), activation);
        ReferenceNetwork network = TestArchitectures.RandomReference(architecture, seed: 7);
        var pde = new ReferencePde(network, PdeCases.Program(equation));
        PdeBatch batch = PdeCases.Batch(equation, seed: 11, 3, 2);
        var losses = new double[batch.Terms.Length];

        (double loss, double[] gradient) = pde.Gradients(batch, losses);

        Assert.Equal(pde.Loss(batch, losses), loss);
        for (int p = 0; p < gradient.Length; p++)
        {
            double original = network.Parameters[p];
            double numeric = FivePoint(
                value =>
                {
                    network.Parameters[p] = value;
                    return pde.Loss(batch, losses);
                },
                original);
            network.Parameters[p] = original;
            FiniteDifferences.AssertClose(numeric, gradient[p], $"dL/dparameter[{p}]");
        }
    }

    [Fact]
    public void The_loss_is_the_weighted_sum_of_each_terms_mean_squared_residual()
    {
        NetworkArchitecture architecture = PdeCases.Mlp(2, Activation.Tanh);
        ReferenceNetwork network = TestArchitectures.RandomReference(architecture, seed: 2);
        PdeProgram program = PdeCases.Program("Poisson");
        var pde = new ReferencePde(network, program);
        PdeBatch batch = PdeCases.Batch("Poisson", seed: 4, 5, 3);
        var losses = new double[2];

        double loss = pde.Loss(batch, losses);

        for (int t = 0; t < 2; t++)
        {
            double sum = 0;
            for (int s = 0; s < batch.Count(t); s++)
            {
                ReadOnlySpan<float> x = batch.Points(t).Slice(s * 2, 2);
                (double u, double[] du, double[] second) = pde.Derivatives(batch.Terms[t], x);
                double r = t == 0
                    ? -second[0] - 2 * MathF.PI * MathF.PI * Networks.PoissonNet.Exact(x)
                    : u - Networks.PoissonNet.Exact(x);
                sum += r * r;
            }

            Assert.Equal(sum / batch.Count(t), losses[t], 12);
        }

        Assert.Equal(losses[0] * batch.Weight(0) + losses[1] * batch.Weight(1), loss, 12);
        Assert.Equal(0.5f, batch.Weight(1));
    }

    [Fact]
    public void A_masked_weight_gets_no_gradient_and_the_others_still_match_finite_differences()
    {
        NetworkArchitecture architecture = PdeCases.Mlp(3, Activation.Softplus, LayerMask.Random(0.5, 3));
        ReferenceNetwork network = TestArchitectures.RandomReference(architecture, seed: 9);
        var pde = new ReferencePde(network, PdeCases.Program("Heat"));
        PdeBatch batch = PdeCases.Batch("Heat", seed: 1, 3, 2, 2);

        (_, double[] gradient) = pde.Gradients(batch, new double[3]);

        float[] mask = network.MaskOf(1)!;
        int offset = architecture.WeightOffset(1);
        Assert.Contains(0f, mask);
        for (int i = 0; i < mask.Length; i++)
        {
            if (mask[i] == 0)
            {
                Assert.Equal(0.0, gradient[offset + i]);
                Assert.Equal(0.0, network.Parameters[offset + i]);
            }
            else
            {
                Assert.NotEqual(0.0, gradient[offset + i]);
            }
        }
    }

    /// <summary>
    /// (−f(x + 2h) + 8 f(x + h) − 8 f(x − h) + f(x − 2h)) / 12h, h = 10⁻⁴: truncation O(h⁴). The losses here reach the
    /// hundreds (Poisson's source is 2π² at its peak), where the plain central difference's rounding, about
    /// 10⁻¹⁶ · loss / h, would exceed the tolerance on the smallest gradients.
    /// </summary>
    private static double FivePoint(Func<double, double> f, double x)
    {
        const double h = 1e-4;
        return (-f(x + 2 * h) + 8 * f(x + h) - 8 * f(x - h) + f(x - 2 * h)) / (12 * h);
    }

    private static double Partial(Func<double[], double> f, double[] x, int i)
    {
        const double h = 1e-5;
        double[] plus = [.. x], minus = [.. x];
        plus[i] += h;
        minus[i] -= h;
        return (f(plus) - f(minus)) / (2 * h);
    }

    private static double SecondPartial(Func<double[], double> f, double[] x, int i)
    {
        const double h = 1e-4;
        double[] plus = [.. x], minus = [.. x];
        plus[i] += h;
        minus[i] -= h;
        return (f(plus) - 2 * f(x) + f(minus)) / (h * h);
    }

    private static void AssertClose(double expected, double actual, double tolerance, string what) =>
        Assert.True(Math.Abs(expected - actual) <= tolerance * Math.Max(1, Math.Abs(expected)), $"{what}: expected {expected:R} (finite differences), got {actual:R}");
}
