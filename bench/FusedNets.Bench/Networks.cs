using FusedNets;

namespace FusedNets.Bench;

// The four benchmarked networks, declared as a user would: MNIST-shaped (784 pixels, 10 classes),
// two ReLU hidden layers, softmax cross-entropy. Each also names the generated members the harness calls.

/// <summary>The training step the harness calls on a classifier: the generated typed member.</summary>
public interface IBenchmarkedNetwork
{
    float TrainBatch(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, Optimizer optimizer);
}

/// <summary>What the harness calls on every network: the generated typed members.</summary>
public interface IBenchmarkedNetwork<TInput, TOutput> : IBenchmarkedNetwork
    where TInput : struct
    where TOutput : struct
{
    TOutput Predict(in TInput x);
}

[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class Mlp32 : IBenchmarkedNetwork<Mlp32.Input, Mlp32.Output>
{
    [Input(784)] public partial Layer Pixels { get; }
    [Dense(32, Activation.Relu)] public partial Layer Hidden1 { get; }
    [Dense(32, Activation.Relu)] public partial Layer Hidden2 { get; }
    [Dense(10)] public partial Layer Logits { get; }
}

[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class Mlp128 : IBenchmarkedNetwork<Mlp128.Input, Mlp128.Output>
{
    [Input(784)] public partial Layer Pixels { get; }
    [Dense(128, Activation.Relu)] public partial Layer Hidden1 { get; }
    [Dense(128, Activation.Relu)] public partial Layer Hidden2 { get; }
    [Dense(10)] public partial Layer Logits { get; }
}

[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class Mlp512 : IBenchmarkedNetwork<Mlp512.Input, Mlp512.Output>
{
    [Input(784)] public partial Layer Pixels { get; }
    [Dense(512, Activation.Relu)] public partial Layer Hidden1 { get; }
    [Dense(512, Activation.Relu)] public partial Layer Hidden2 { get; }
    [Dense(10)] public partial Layer Logits { get; }
}

[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class Mlp1024 : IBenchmarkedNetwork<Mlp1024.Input, Mlp1024.Output>
{
    [Input(784)] public partial Layer Pixels { get; }
    [Dense(1024, Activation.Relu)] public partial Layer Hidden1 { get; }
    [Dense(1024, Activation.Relu)] public partial Layer Hidden2 { get; }
    [Dense(10)] public partial Layer Logits { get; }
}

/// <summary>784-512-512-10 with nine in ten weights of each hidden layer fixed at zero: the sparse kernels' case.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class Mlp512Sparse : IBenchmarkedNetwork<Mlp512Sparse.Input, Mlp512Sparse.Output>
{
    [Input(784)] public partial Layer Pixels { get; }
    [Dense(512, Activation.Relu, Density = 0.1, MaskSeed = 1)] public partial Layer Hidden1 { get; }
    [Dense(512, Activation.Relu, Density = 0.1, MaskSeed = 2)] public partial Layer Hidden2 { get; }
    [Dense(10)] public partial Layer Logits { get; }
}
