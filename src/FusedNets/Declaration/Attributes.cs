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

/// <summary>
/// The network's input, declared first and exactly once: a vector of <c>size</c> features, or an image of
/// (channels, height, width) stored channel-major like PyTorch's NCHW; either way a sample is
/// <see cref="Size"/> floats.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class InputAttribute : Attribute
{
    /// <summary>A vector of <paramref name="size"/> features.</summary>
    /// <param name="size">The number of input features.</param>
    public InputAttribute(int size)
    {
        Channels = size;
        Height = Width = 1;
    }

    /// <summary>An image of <paramref name="channels"/> × <paramref name="height"/> × <paramref name="width"/> values.</summary>
    public InputAttribute(int channels, int height, int width)
    {
        Channels = channels;
        Height = height;
        Width = width;
    }

    /// <summary>Floats per sample: channels × height × width.</summary>
    public int Size => Channels * Height * Width;

    public int Channels { get; }

    public int Height { get; }

    public int Width { get; }
}

/// <summary>Training losses.</summary>
public enum Loss
{
    /// <summary>Softmax over the outputs, then cross-entropy against an integer class label; the batch mean.</summary>
    SoftmaxCrossEntropy,
    /// <summary>The mean over batch and outputs of the squared difference to float targets.</summary>
    MeanSquaredError,
}
