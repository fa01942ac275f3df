using FusedNets.Generated;
using FusedNets.Tests.Reference;

namespace FusedNets.Tests.Pde;

/// <summary>The numbers residuals are evaluated in: values as plain arithmetic gives them, and exact partial derivatives.</summary>
public class VariableTests
{
    // Every operation of IPdeNumber, with constants mixed in on either side.
    private static T Everything<T>(ReadOnlySpan<float> x, T u, ReadOnlySpan<T> du, T laplacian)
        where T : IPdeNumber<T> =>
        T.Sin(u) * du[0] - T.Cos(du[1]) / (2 + u * u) + T.Exp(-laplacian) * T.Log(3 + du[0] * du[0])
        + T.Sqrt(1 + u * u) - T.Tanh(u * du[1]) + T.Abs(laplacian - 0.3f) + T.Pow(2 + u, 2.5f) - x[0] * u + 1.5f;

    private static double EverythingInDouble(double[] a, float x0)
    {
        (double u, double du0, double du1, double lap) = (a[0], a[1], a[2], a[3]);
        return Math.Sin(u) * du0 - Math.Cos(du1) / (2 + u * u) + Math.Exp(-lap) * Math.Log(3 + du0 * du0)
            + Math.Sqrt(1 + u * u) - Math.Tanh(u * du1) + Math.Abs(lap - 0.3f) + Math.Pow(2 + u, 2.5) - x0 * u + 1.5;
    }

    [Fact]
    public void One_evaluation_gives_the_value_and_every_partial_derivative_exactly()
    {
        double[] arguments = [0.7, -0.4, 1.3, 0.9];
        float x0 = 0.25f;
        Tape<double> tape = Tape<double>.Current;
        tape.Begin(4);
        Variable<double>[] du = [Tape<double>.Leaf(1, arguments[1]), Tape<double>.Leaf(2, arguments[2])];

        Variable<double> r = Everything([x0], Tape<double>.Leaf(0, arguments[0]), du, Tape<double>.Leaf(3, arguments[3]));
        var partials = new double[4];
        tape.Gradient(r, partials);

        Assert.Equal(EverythingInDouble(arguments, x0), r.Value, 12);
        for (int k = 0; k < 4; k++)
        {
            double[] shifted = [.. arguments];
            double numeric = FiniteDifferences.Central(value =>
            {
                shifted[k] = value;
                return EverythingInDouble(shifted, x0);
            }, arguments[k]);
            FiniteDifferences.AssertClose(numeric, partials[k], $"dr/dargument{k}");
        }
    }

    [Fact]
    public void A_result_that_reads_an_argument_only_through_constants_has_zero_partials()
    {
        Tape<float> tape = Tape<float>.Current;
        tape.Begin(2);
        Variable<float> u = Tape<float>.Leaf(0, 3f);
        Variable<float> constant = (Variable<float>)2f * 5f + 1f;

        var partials = new float[2] { 9, 9 };
        tape.Gradient(constant, partials);
        Assert.Equal([0f, 0f], partials);

        tape.Gradient(u, partials);
        Assert.Equal([1f, 0f], partials);
        Assert.Equal(11.0, constant.Value);
    }

    [Fact]
    public void Default_is_the_constant_zero_not_the_first_argument()
    {
        Tape<float> tape = Tape<float>.Current;
        tape.Begin(1);
        Variable<float> zero = default;
        Variable<float> product = zero * Tape<float>.Leaf(0, 4f);

        var partials = new float[1];
        tape.Gradient(product, partials);

        Assert.Equal(0f, partials[0]);
    }
}
