using FusedNets.Tests.Reference;

namespace FusedNets.Tests.Research;

/// <summary>The networks and boxes the interval tests share: every layer kind and activation, and random boxes around random points.</summary>
internal static class IntervalTestData
{
    /// <summary>Networks by name: dense networks of every activation (an identity output, whose logit differences elide the last layer, and a tanh one, whose do not) and convolutional ones with both poolings.</summary>
    public static readonly Dictionary<string, Func<NetworkArchitecture>> Networks = BuildNetworks();

    public static TheoryData<string> NetworkNames() => [.. Networks.Keys];

    /// <summary>
    /// <paramref name="count"/> boxes around random points in [-1, 1), each side a random half-width in [0, <paramref name="radius"/>),
    /// some of them zero, so that boxes of every shape, points included, are bounded.
    /// </summary>
    public static (float[] Lower, float[] Upper) RandomBoxes(NetworkArchitecture architecture, int count, int seed, float radius = 0.3f)
    {
        var random = new Random(seed);
        int size = count * architecture.InputSize;
        var lower = new float[size];
        var upper = new float[size];
        for (int i = 0; i < size; i++)
        {
            float center = (float)(random.NextDouble() * 2 - 1);
            float half = random.Next(5) == 0 ? 0 : (float)(random.NextDouble() * radius);
            lower[i] = center - half;
            upper[i] = center + half;
        }

        return (lower, upper);
    }

    /// <summary>
    /// <paramref name="count"/> points of the box <paramref name="box"/> (one sample's box among those given): its two
    /// opposite corners, then points on its corners and uniform inside, mixed at random.
    /// </summary>
    public static float[] PointsIn(float[] lower, float[] upper, int box, int inputSize, int count, int seed)
    {
        var random = new Random(seed);
        var points = new float[count * inputSize];
        for (int p = 0; p < count; p++)
        {
            for (int i = 0; i < inputSize; i++)
            {
                float lo = lower[box * inputSize + i], hi = upper[box * inputSize + i];
                points[p * inputSize + i] = p switch
                {
                    0 => lo,
                    1 => hi,
                    _ when p % 3 == 0 => random.Next(2) == 0 ? lo : hi,
                    _ => (float)Math.Clamp(lo + random.NextDouble() * (hi - lo), lo, hi),
                };
            }
        }

        return points;
    }

    private static Dictionary<string, Func<NetworkArchitecture>> BuildNetworks()
    {
        var networks = new Dictionary<string, Func<NetworkArchitecture>>();
        foreach (Activation activation in TestArchitectures.EveryActivation)
        {
            networks[$"Mlp, {activation}"] = () => TestArchitectures.Mlp(activation, Loss.SoftmaxCrossEntropy);
            networks[$"ConvNet, {activation}"] = () => TestArchitectures.ConvNet(activation, Loss.SoftmaxCrossEntropy);
        }

        networks["Mlp, Gelu into a tanh output"] = () => TestArchitectures.Mlp(Activation.Gelu, Loss.SoftmaxCrossEntropy, output: Activation.Tanh);
        networks["Masked Mlp"] = () => TestArchitectures.Masked("Random", Loss.SoftmaxCrossEntropy);
        networks["StridedConvNet, masked"] = () => TestArchitectures.StridedConvNet(Loss.SoftmaxCrossEntropy, TestArchitectures.Mask("Random"));
        return networks;
    }
}
