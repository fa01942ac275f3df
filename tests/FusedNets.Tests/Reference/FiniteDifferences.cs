using FusedNets.Reference;
using Xunit.Sdk;

namespace FusedNets.Tests.Reference;

/// <summary>Central finite differences, the independent check on every analytic derivative in the reference.</summary>
internal static class FiniteDifferences
{
    /// <summary>
    /// The step: small enough that the O(h^2) truncation error (about 1e-12) is negligible, large enough that
    /// rounding in f (about 1e-16 / h = 1e-10 relative) is too.
    /// </summary>
    public const double Step = 1e-6;

    /// <summary>(f(x + h) - f(x - h)) / 2h.</summary>
    public static double Central(Func<double, double> f, double x) => (f(x + Step) - f(x - Step)) / (2 * Step);

    /// <summary>The numerical derivative of the batch's mean loss with respect to parameter <paramref name="p"/>.</summary>
    public static double OfParameter(ReferenceNetwork network, TestBatch batch, int p)
    {
        double original = network.Parameters[p];
        double derivative = Central(
            value =>
            {
                network.Parameters[p] = value;
                return network.MeanLoss(batch);
            },
            original);
        network.Parameters[p] = original;
        return derivative;
    }

    /// <summary>The numerical derivative of the batch's mean loss with respect to input entry <paramref name="index"/>.</summary>
    public static double OfInput(ReferenceNetwork network, TestBatch batch, int index)
    {
        double[] inputs = batch.InputsAsDouble;
        return Central(
            value =>
            {
                inputs[index] = value;
                return network.SampleLosses(inputs, batch.Labels, batch.TargetsAsDouble, batch.Size).Average();
            },
            inputs[index]);
    }

    /// <summary>Fails unless <paramref name="actual"/> is within a relative 1e-6 of <paramref name="expected"/> (absolute 1e-8 near zero).</summary>
    public static void AssertClose(double expected, double actual, string what)
    {
        double tolerance = 1e-6 * Math.Max(Math.Abs(expected), 1e-2);
        if (!(Math.Abs(expected - actual) <= tolerance))
        {
            throw new XunitException($"{what}: expected {expected:R} (finite differences), got {actual:R}; difference {Math.Abs(expected - actual):E2} > {tolerance:E2}.");
        }
    }
}
