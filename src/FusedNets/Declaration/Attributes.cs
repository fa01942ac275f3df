namespace FusedNets;

/// <summary>
/// Marks a partial class as a network. Its <see cref="Layer"/> properties, in declaration order,
/// are the layers; the FusedNets generator checks their shapes and emits the kernels.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class NetworkAttribute : Attribute
{
    /// <summary>The training loss, applied to the last layer's output.</summary>
    public Loss Loss { get; set; } = Loss.SoftmaxCrossEntropy;
}

/// <summary>The network's input: a vector of <paramref name="size"/> floats. Declared first, exactly once.</summary>
/// <param name="size">The number of input features.</param>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class InputAttribute(int size) : Attribute
{
    /// <summary>The number of input features.</summary>
    public int Size { get; } = size;
}

/// <summary>Elementwise activations. Their forward and derivative rules live in <see cref="Activations"/>.</summary>
public enum Activation
{
    /// <summary>y = z.</summary>
    Identity,
    /// <summary>y = max(z, 0).</summary>
    Relu,
    /// <summary>y = z for z &gt; 0, else 0.01 z.</summary>
    LeakyRelu,
    /// <summary>y = tanh(z).</summary>
    Tanh,
    /// <summary>y = 1 / (1 + exp(-z)).</summary>
    Sigmoid,
    /// <summary>The tanh approximation of GELU (PyTorch's approximate="tanh").</summary>
    Gelu,
    /// <summary>y = log(1 + exp(z)).</summary>
    Softplus,
}

/// <summary>Training losses.</summary>
public enum Loss
{
    /// <summary>Softmax over the outputs, then cross-entropy against an integer class label; the batch mean.</summary>
    SoftmaxCrossEntropy,
    /// <summary>The mean over batch and outputs of the squared difference to float targets.</summary>
    MeanSquaredError,
}
