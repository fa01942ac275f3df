using FusedNets;

namespace FusedNets.Tests.Networks;

// Small networks declared exactly as users declare them. Sizes are odd on purpose: nothing may assume
// multiples of a vector width or a thread group.

/// <summary>The README's network.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class MnistMlp
{
    [Input(784)] public partial Layer Pixels { get; }
    [Dense(128, Activation.Relu)] public partial Layer Hidden1 { get; }
    [Dense(128, Activation.Relu)] public partial Layer Hidden2 { get; }
    [Dense(10)] public partial Layer Logits { get; }
}

/// <summary>Every activation once, in a classifier whose output layer has a non-identity activation too.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class EveryActivationClassifier
{
    [Input(5)] public partial Layer Features { get; }
    [Dense(7, Activation.Relu)] public partial Layer A { get; }
    [Dense(6, Activation.LeakyRelu)] public partial Layer B { get; }
    [Dense(9, Activation.Tanh)] public partial Layer C { get; }
    [Dense(5, Activation.Sigmoid)] public partial Layer D { get; }
    [Dense(8, Activation.Gelu)] public partial Layer E { get; }
    [Dense(4, Activation.Softplus, Inputs = 8)] public partial Layer Scores { get; }
}

/// <summary>A regressor with identity and tanh layers.</summary>
[Network(Loss = Loss.MeanSquaredError)]
public partial class TinyRegressor
{
    [Input(3)] public partial Layer X { get; }
    [Dense(11, Activation.Tanh)] public partial Layer Hidden { get; }
    [Dense(6)] public partial Layer Linear { get; }
    [Dense(2, Activation.Sigmoid)] public partial Layer Y { get; }
}

/// <summary>Both kinds of fixed sparsity.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class MaskedClassifier
{
    [Input(12)] public partial Layer Pixels { get; }
    [Dense(10, Activation.Relu, Mask = nameof(Banded))] public partial Layer Local { get; }
    [Dense(9, Activation.Gelu, Density = 0.4, MaskSeed = 7)] public partial Layer Sparse { get; }
    [Dense(3)] public partial Layer Logits { get; }

    /// <summary>Each output sees the inputs within 2 of its own index.</summary>
    public static bool Banded(int output, int input) => Math.Abs(output - input) <= 2;
}

/// <summary>Wide enough for 16 × 16 kernel tiles, and no size a multiple of 16.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class TiledClassifier
{
    [Input(37)] public partial Layer Features { get; }
    [Dense(33, Activation.Relu)] public partial Layer Wide { get; }
    [Dense(18, Activation.Tanh)] public partial Layer Narrow { get; }
    [Dense(5)] public partial Layer Logits { get; }
}

/// <summary>Wider than the fused training step takes (128 units): trains with the per-layer kernels.</summary>
[Network(Loss = Loss.MeanSquaredError)]
public partial class WideRegressor
{
    [Input(9)] public partial Layer X { get; }
    [Dense(131, Activation.Tanh)] public partial Layer Wide { get; }
    [Dense(4)] public partial Layer Y { get; }
}

/// <summary>The 8×8 digits classifier of the sample: 64 pixels, one ReLU layer, 10 classes.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class DigitsClassifier
{
    [Input(64)] public partial Layer Pixels { get; }
    [Dense(64, Activation.Relu)] public partial Layer Hidden { get; }
    [Dense(10)] public partial Layer Logits { get; }
}

/// <summary>The convolutional network of issue 10, as the LeNet sample declares it: 61,706 parameters.</summary>
[Network]
public partial class LeNet
{
    [Input(1, 28, 28)] public partial Layer Image { get; }
    [Conv2D(6, 5, Activation.Relu, Padding = 2)] public partial Layer Conv1 { get; }
    [MaxPool2D(2)] public partial Layer Pool1 { get; }
    [Conv2D(16, 5, Activation.Relu)] public partial Layer Conv2 { get; }
    [AvgPool2D(2)] public partial Layer Pool2 { get; }
    [Dense(120, Activation.Relu)] public partial Layer Fc1 { get; }
    [Dense(84, Activation.Relu)] public partial Layer Fc2 { get; }
    [Dense(10)] public partial Layer Logits { get; }
}

/// <summary>
/// A convolutional regressor small enough for ILGPU's CPU simulator, whose weight-gradient kernels reduce each weight
/// in a group of its own: a strided, padded and masked convolution, both poolings with windows that leave a column
/// over, and dense layers reading the flattened map.
/// </summary>
[Network(Loss = Loss.MeanSquaredError)]
public partial class ConvRegressor
{
    [Input(2, 11, 9)] public partial Layer Image { get; }
    [Conv2D(3, 3, Activation.Tanh, Stride = 2, Padding = 1, Density = 0.6, MaskSeed = 3)] public partial Layer Strided { get; }   // (3, 6, 5)
    [MaxPool2D(2)] public partial Layer Pool1 { get; }                                                                          // (3, 3, 2)
    [Conv2D(2, 2, Activation.Gelu, Padding = 1)] public partial Layer Padded { get; }                                           // (2, 4, 3)
    [AvgPool2D(2)] public partial Layer Pool2 { get; }                                                                          // (2, 2, 1)
    [Dense(7, Activation.Sigmoid, Inputs = 4)] public partial Layer Hidden { get; }
    [Dense(3)] public partial Layer Y { get; }
}
