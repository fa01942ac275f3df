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
