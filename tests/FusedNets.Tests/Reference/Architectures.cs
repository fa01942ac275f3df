using System.Collections.Immutable;
using FusedNets.Reference;
using Xunit;

namespace FusedNets.Tests.Reference;

/// <summary>
/// Small architectures and deterministic random data shared by the reference tests and by the tests that
/// check backends against the reference. Every value is a float, so a float backend and the double
/// reference start from exactly the same numbers.
/// </summary>
internal static class TestArchitectures
{
    public static readonly ImmutableArray<Activation> EveryActivation = [.. Enum.GetValues<Activation>()];

    public static readonly ImmutableArray<Loss> EveryLoss = [.. Enum.GetValues<Loss>()];

    /// <summary>A 5 → 7 → 4 network: a hidden layer, then an output layer that feeds the loss.</summary>
    public static NetworkArchitecture Mlp(
        Activation hidden,
        Loss loss,
        Activation output = Activation.Identity,
        LayerMask? hiddenMask = null,
        LayerMask? outputMask = null) =>
        new(
            $"Mlp_{hidden}_{output}_{loss}",
            loss,
            "Features",
            5,
            [
                new DenseLayerArchitecture("Hidden", 7, 5, hidden, hiddenMask ?? LayerMask.None),
                new DenseLayerArchitecture("Output", 4, 7, output, outputMask ?? LayerMask.None),
            ]);

    /// <summary>
    /// A small convolutional network over (2, 7, 6) images: a padded convolution, max pooling, a second convolution,
    /// average pooling, and a dense output layer reading the flattened map. No size is a multiple of anything.
    /// </summary>
    public static NetworkArchitecture ConvNet(Activation activation, Loss loss, LayerMask? convolutionMask = null) =>
        new(
            $"ConvNet_{activation}_{loss}",
            loss,
            "Image",
            (2, 7, 6),
            [
                new Conv2DLayerArchitecture("Conv1", (2, 7, 6), filters: 3, kernel: 3, stride: 1, padding: 1, activation, convolutionMask ?? LayerMask.None),
                new MaxPool2DLayerArchitecture("Pool1", (3, 7, 6), size: 2),
                new Conv2DLayerArchitecture("Conv2", (3, 3, 3), filters: 4, kernel: 2, stride: 1, padding: 0, Activation.Tanh, LayerMask.None),
                new AvgPool2DLayerArchitecture("Pool2", (4, 2, 2), size: 2),
                new DenseLayerArchitecture("Output", 3, 4, Activation.Identity, LayerMask.None),
            ]);

    /// <summary>Strides of 2 and 3 with padding 2, whose windows skip and overhang the input, and a masked convolution.</summary>
    public static NetworkArchitecture StridedConvNet(Loss loss, LayerMask mask) =>
        new(
            $"StridedConvNet_{loss}",
            loss,
            "Image",
            (3, 9, 8),
            [
                new Conv2DLayerArchitecture("Wide", (3, 9, 8), filters: 5, kernel: 4, stride: 2, padding: 2, Activation.Sigmoid, mask),
                new Conv2DLayerArchitecture("Skip", (5, 5, 5), filters: 2, kernel: 2, stride: 3, padding: 0, Activation.Relu, LayerMask.None),
                new DenseLayerArchitecture("Output", 2, 8, Activation.Identity, LayerMask.None),
            ]);

    /// <summary>Every (hidden activation, loss) pair, for theories.</summary>
    public static TheoryData<Activation, Loss> EveryActivationWithEveryLoss()
    {
        var data = new TheoryData<Activation, Loss>();
        foreach (Activation activation in EveryActivation)
        {
            foreach (Loss loss in EveryLoss)
            {
                data.Add(activation, loss);
            }
        }

        return data;
    }

    /// <summary>The masks the tests use, by name, so that theory cases read well in test output.</summary>
    public static LayerMask Mask(string name) => name switch
    {
        "Random" => LayerMask.Random(0.5, 3),
        "Banded" => LayerMask.FromFunction("Banded", (output, input) => Math.Abs(output - input) <= 1),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "Unknown test mask."),
    };

    public static TheoryData<string, Loss> EveryMaskWithEveryLoss()
    {
        var data = new TheoryData<string, Loss>();
        foreach (string mask in new[] { "Random", "Banded" })
        {
            foreach (Loss loss in EveryLoss)
            {
                data.Add(mask, loss);
            }
        }

        return data;
    }

    /// <summary>A 5 → 7 → 4 tanh network whose layers both carry the named mask.</summary>
    public static NetworkArchitecture Masked(string mask, Loss loss) =>
        Mlp(Activation.Tanh, loss, hiddenMask: Mask(mask), outputMask: Mask(mask));

    /// <summary>Each layer's mask as the engines and the reference take it: null, or 1s and 0s.</summary>
    public static float[]?[] Masks(NetworkArchitecture architecture) => [.. architecture.Layers.Select(LayerMask.ArrayOf)];

    /// <summary>
    /// Uniform random parameters in [-1, 1), biases included (unlike training's initialization, so that
    /// bias gradients are tested away from zero), and masked weights exactly zero.
    /// </summary>
    public static float[] RandomParameters(NetworkArchitecture architecture, int seed)
    {
        var random = new Random(seed);
        var parameters = new float[architecture.ParameterCount];
        for (int i = 0; i < parameters.Length; i++)
        {
            parameters[i] = Uniform(random);
        }

        float[]?[] masks = Masks(architecture);
        for (int l = 0; l < masks.Length; l++)
        {
            if (masks[l] is { } mask)
            {
                Span<float> weights = parameters.AsSpan(architecture.WeightOffset(l), mask.Length);
                for (int i = 0; i < mask.Length; i++)
                {
                    weights[i] *= mask[i];
                }
            }
        }

        return parameters;
    }

    /// <summary>
    /// A random batch for the architecture's loss: inputs in [-1, 1), and labels in [0, OutputSize) for
    /// cross-entropy or targets in [-1, 1) for mean squared error.
    /// </summary>
    public static TestBatch RandomBatch(NetworkArchitecture architecture, int size, int seed)
    {
        var random = new Random(seed);
        float[] inputs = RandomValues(random, size * architecture.InputSize);
        return architecture.IsClassifier
            ? new TestBatch(size, inputs, [.. Enumerable.Range(0, size).Select(_ => random.Next(architecture.OutputSize))], [])
            : new TestBatch(size, inputs, [], RandomValues(random, size * architecture.OutputSize));
    }

    /// <summary>A reference network with <see cref="RandomParameters"/>.</summary>
    public static ReferenceNetwork RandomReference(NetworkArchitecture architecture, int seed) =>
        new(architecture, RandomParameters(architecture, seed), Masks(architecture));

    private static float[] RandomValues(Random random, int count)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = Uniform(random);
        }

        return values;
    }

    private static float Uniform(Random random) => (float)(random.NextDouble() * 2 - 1);
}

/// <summary>One batch: (B, In) inputs, and (B) labels or (B, Out) targets, whichever the loss takes (the other empty).</summary>
public sealed record TestBatch(int Size, float[] Inputs, int[] Labels, float[] Targets)
{
    public double[] InputsAsDouble => Widen(Inputs);

    public double[] TargetsAsDouble => Widen(Targets);

    private static double[] Widen(float[] values) => Array.ConvertAll(values, value => (double)value);
}

/// <summary>Shorthands that run a <see cref="TestBatch"/> through a reference network.</summary>
internal static class ReferenceNetworkTestExtensions
{
    public static double MeanLoss(this ReferenceNetwork network, TestBatch batch) =>
        network.SampleLosses(batch.InputsAsDouble, batch.Labels, batch.TargetsAsDouble, batch.Size).Average();

    public static ReferenceGradients Gradients(this ReferenceNetwork network, TestBatch batch) =>
        network.Gradients(batch.InputsAsDouble, batch.Labels, batch.TargetsAsDouble, batch.Size);

    public static double TrainBatch(this ReferenceNetwork network, TestBatch batch, SgdStep sgd) =>
        network.TrainBatch(batch.InputsAsDouble, batch.Labels, batch.TargetsAsDouble, batch.Size, sgd);
}
