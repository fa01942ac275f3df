using FusedNets;

namespace FusedNets.Tests.Research;

// Networks of the robustness tests, declared as users declare them.

/// <summary>2 → 2 (ReLU) → 2, the network the interval tests compute by hand.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class HandIntervalNetwork
{
    [Input(2)] public partial Layer X { get; }
    [Dense(2, Activation.Relu)] public partial Layer Hidden { get; }
    [Dense(2)] public partial Layer Logits { get; }
}

/// <summary>A small convolutional classifier of the 8×8 digits with every layer kind: 1 × 8 × 8 → 6 × 8 × 8 → 6 × 4 × 4 → 8 × 4 × 4 → 8 × 2 × 2 → 10.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class DigitsConvNet
{
    [Input(1, 8, 8)] public partial Layer Pixels { get; }
    [Conv2D(6, 3, Activation.Relu, Padding = 1)] public partial Layer Conv1 { get; }
    [MaxPool2D(2)] public partial Layer Pool1 { get; }
    [Conv2D(8, 3, Activation.Gelu, Padding = 1)] public partial Layer Conv2 { get; }
    [AvgPool2D(2)] public partial Layer Pool2 { get; }
    [Dense(10)] public partial Layer Logits { get; }
}

/// <summary>y = W x + b: integrated gradients are exact for it whatever the number of steps.</summary>
[Network(Loss = Loss.MeanSquaredError)]
public partial class LinearRegressor
{
    [Input(3)] public partial Layer X { get; }
    [Dense(2)] public partial Layer Y { get; }
}
