using System.Collections.Immutable;
using System.Globalization;
using FusedNets.Backends.Cpu;
using FusedNets.Generated;

namespace FusedNets;

/// <summary>
/// A 2-D convolution over a (channels, height, width) map, as PyTorch's <c>nn.Conv2d</c>: square kernel, zero padding,
/// cross-correlation. z[f, y, x] = b[f] + Σ_{c, i, j} W[f, c, i, j] · in[c, y·stride + i − padding, x·stride + j − padding],
/// then the activation. Output size floor((H + 2 padding − kernel) / stride) + 1 per side.
/// </summary>
/// <param name="filters">Output channels.</param>
/// <param name="kernel">The kernel's side.</param>
/// <param name="activation">The elementwise activation applied after the convolution.</param>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class Conv2DAttribute(int filters, int kernel, Activation activation = Activation.Identity) : Attribute
{
    /// <summary>Output channels.</summary>
    public int Filters { get; } = filters;

    /// <summary>The kernel's side.</summary>
    public int Kernel { get; } = kernel;

    /// <summary>The activation applied after the convolution.</summary>
    public Activation Activation { get; } = activation;

    /// <summary>The step between two positions of the kernel, at least 1.</summary>
    public int Stride { get; set; } = 1;

    /// <summary>Zeros added on every side of the input, at least 0.</summary>
    public int Padding { get; set; }

    /// <summary>The fraction of weights kept by a fixed random mask, in (0, 1]. 1 keeps all.</summary>
    public double Density { get; set; } = 1.0;

    /// <summary>The seed of the random mask chosen by <see cref="Density"/>.</summary>
    public int MaskSeed { get; set; }
}

/// <summary>
/// One 2-D convolution: weights [filters, channels, kernel, kernel] and bias [filters], PyTorch's <c>nn.Conv2d</c>
/// layout. Masks see the weights as a matrix [filters, channels · kernel · kernel].
/// </summary>
public sealed partial record Conv2DLayerArchitecture : LayerArchitecture
{
    public Conv2DLayerArchitecture(
        string name,
        (int Channels, int Height, int Width) inputShape,
        int filters,
        int kernel,
        int stride,
        int padding,
        Activation activation,
        LayerMask mask)
        : base(name, inputShape, OutputShapeOf(inputShape, filters, kernel, stride, padding), activation, mask)
    {
        Filters = filters;
        Kernel = kernel;
        Stride = stride;
        Padding = padding;
    }

    public int Filters { get; }

    public int Kernel { get; }

    public int Stride { get; }

    public int Padding { get; }

    public override string Kind => "Conv2D";

    public override ImmutableArray<ParameterTensor> Parameters =>
    [
        new ParameterTensor("weight", [Filters, InputShape.Channels, Kernel, Kernel], ParameterRole.Weight),
        new ParameterTensor("bias", [Filters], ParameterRole.Bias),
    ];

    /// <summary>Every output position of every filter reads channels × kernel² weights.</summary>
    public override long ForwardMultiplyAdds => (long)Units * InputShape.Channels * Kernel * Kernel;

    /// <summary>PyTorch's fans: channels · kernel² inputs per output, filters · kernel² outputs per input.</summary>
    internal override (int In, int Out) Fans => (InputShape.Channels * Kernel * Kernel, Filters * Kernel * Kernel);

    /// <summary>
    /// The output shape of a convolution, or an exception naming what does not fit; the generator reports the same
    /// checks as compile errors.
    /// </summary>
    public static (int Channels, int Height, int Width) OutputShapeOf((int Channels, int Height, int Width) input, int filters, int kernel, int stride, int padding)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(filters);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(kernel);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stride);
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        if (kernel > input.Height + 2 * padding || kernel > input.Width + 2 * padding)
        {
            throw new ArgumentException($"A {kernel}×{kernel} kernel is larger than the padded input {Shapes.Text(input)} with padding {padding}.", nameof(kernel));
        }

        return (filters, (input.Height + 2 * padding - kernel) / stride + 1, (input.Width + 2 * padding - kernel) / stride + 1);
    }

    private protected override string Describe() =>
        FormattableString.Invariant($"({Filters}, {Kernel}, {Activation}, stride {Stride}, padding {Padding})");

    internal override IEnumerable<FileProperty> FileProperties()
    {
        yield return KindProperty;
        yield return new FileProperty("input_shape", Shapes.Text(InputShape), "reads", "");
        yield return new FileProperty("filters", Invariant(Filters), "has", " filters");
        yield return new FileProperty("kernel", Invariant(Kernel), "has a kernel of side", "");
        yield return new FileProperty("stride", Invariant(Stride), "has stride", "");
        yield return new FileProperty("padding", Invariant(Padding), "has padding", "");
        yield return new FileProperty("activation", Activation.ToString(), "has activation", "");
        yield return new FileProperty("mask", Mask.Description, "has mask", "");
    }

    internal override CpuLayer<TVector, TOps> CreateCpuLayer<TVector, TOps>(int index, float[]? mask) =>
        new Conv2DCpuLayer<TVector, TOps>(index, this, mask);

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
