using System.Collections.Immutable;
using System.Globalization;

namespace FusedNets;

/// <summary>
/// Max pooling over size × size windows with stride size, as PyTorch's <c>nn.MaxPool2d(size)</c>: output
/// floor((H − size) / size) + 1 per side. No parameters.
/// </summary>
/// <param name="size">The window's side, which is also its stride.</param>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class MaxPool2DAttribute(int size) : Attribute
{
    /// <summary>The window's side and stride.</summary>
    public int Size { get; } = size;
}

/// <summary>
/// Average pooling over size × size windows with stride size, as PyTorch's <c>nn.AvgPool2d(size)</c>: output
/// floor((H − size) / size) + 1 per side. No parameters.
/// </summary>
/// <param name="size">The window's side, which is also its stride.</param>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class AvgPool2DAttribute(int size) : Attribute
{
    /// <summary>The window's side and stride.</summary>
    public int Size { get; } = size;
}

/// <summary>
/// What both pooling kinds share: a (C, H, W) map reduced window by window, each channel on its own, without
/// parameters or activation.
/// </summary>
public abstract record Pool2DLayerArchitecture : LayerArchitecture
{
    private protected Pool2DLayerArchitecture(string name, (int Channels, int Height, int Width) inputShape, int size)
        : base(name, inputShape, OutputShapeOf(inputShape, size), Activation.Identity, LayerMask.None)
    {
        Size = size;
    }

    /// <summary>The window's side and stride.</summary>
    public int Size { get; }

    public override ImmutableArray<ParameterTensor> Parameters => [];

    public override long ForwardMultiplyAdds => 0;

    internal override (int In, int Out) Fans => (0, 0);

    /// <summary>The output shape of a pooling window of <paramref name="size"/>, or an exception naming what does not fit.</summary>
    public static (int Channels, int Height, int Width) OutputShapeOf((int Channels, int Height, int Width) input, int size)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        if (size > input.Height || size > input.Width)
        {
            throw new ArgumentException($"A {size}×{size} pooling window is larger than the map {Shapes.Text(input)}.", nameof(size));
        }

        return (input.Channels, (input.Height - size) / size + 1, (input.Width - size) / size + 1);
    }

    private protected override string Describe() => $"({Size})";

    internal override IEnumerable<FileProperty> FileProperties()
    {
        yield return KindProperty;
        yield return new FileProperty("input_shape", Shapes.Text(InputShape), "reads", "");
        yield return new FileProperty("size", Size.ToString(CultureInfo.InvariantCulture), "has a window of side", "");
    }

    // Both pooling maps are monotone in every input: z's bounds are the map of each end (ReferenceIntervals).
    internal override void ReferenceIntervalForward(ReadOnlySpan<double> parameters, ReadOnlySpan<double> lower, ReadOnlySpan<double> upper, Span<double> zLower, Span<double> zUpper, int batch) =>
        ReferenceIntervals.MonotoneForward(this, parameters, lower, upper, zLower, zUpper, batch);

    internal override void ReferenceIntervalBackward(
        ReadOnlySpan<double> parameters, ReadOnlySpan<double> lower, ReadOnlySpan<double> upper, ReadOnlySpan<double> dzLower, ReadOnlySpan<double> dzUpper,
        Span<double> dparameters, Span<double> dLower, Span<double> dUpper, int batch) =>
        ReferenceIntervals.MonotoneBackward(this, parameters, lower, upper, dzLower, dzUpper, dparameters, dLower, dUpper, batch);

    /// <summary>Calls <paramref name="visit"/>(output index, first input index of its window) for one sample's (C, OH, OW) outputs in order.</summary>
    private protected void ForEachWindow(Action<int, int> visit)
    {
        (int channels, int height, int width) = InputShape;
        (_, int outHeight, int outWidth) = OutputShape;
        for (int c = 0; c < channels; c++)
        {
            for (int oy = 0; oy < outHeight; oy++)
            {
                for (int ox = 0; ox < outWidth; ox++)
                {
                    visit((c * outHeight + oy) * outWidth + ox, (c * height + oy * Size) * width + ox * Size);
                }
            }
        }
    }
}
