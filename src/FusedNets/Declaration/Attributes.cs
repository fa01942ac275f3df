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

/// <summary>Training losses.</summary>
public enum Loss
{
    /// <summary>Softmax over the outputs, then cross-entropy against an integer class label; the batch mean.</summary>
    SoftmaxCrossEntropy,
    /// <summary>The mean over batch and outputs of the squared difference to float targets.</summary>
    MeanSquaredError,
}
