using FusedNets.Generated;

namespace FusedNets.Gpu;

/// <summary>
/// A length known when a kernel is compiled, as a type: it sizes shared-memory tiles, which ILGPU allocates
/// statically, and gives the loops over a tile constant bounds.
/// </summary>
internal interface ITileSize
{
    static abstract int Size { get; }
}

/// <summary>16 × 16 threads: each value staged in shared memory serves 16 products.</summary>
internal readonly struct Tile16 : ITileSize
{
    public static int Size => 16;
}

/// <summary>8 × 8 threads, for a layer so narrow that most of a 16 × 16 tile would idle.</summary>
internal readonly struct Tile8 : ITileSize
{
    public static int Size => 8;
}

/// <summary>Whether a layer's weights carry a mask, as a type: an unmasked layer's update reads no mask at all.</summary>
internal interface IMaskMode
{
    static abstract bool IsMasked { get; }
}

internal readonly struct Masked : IMaskMode
{
    public static bool IsMasked => true;
}

internal readonly struct Unmasked : IMaskMode
{
    public static bool IsMasked => false;
}

/// <summary>
/// The type arguments of a network's kernels, from the runtime choices of its architecture: activations come from
/// the core's table (<see cref="Activations.Dispatch{TVisitor}"/>), the one place an activation is added.
/// </summary>
internal static class KernelTypes
{
    public static Type Of(Activation activation)
    {
        var visitor = new ActivationType();
        Activations.Dispatch(activation, ref visitor);
        return visitor.Type!;
    }

    public static Type Of(Loss loss) => loss switch
    {
        Loss.SoftmaxCrossEntropy => typeof(GpuSoftmaxCrossEntropy),
        Loss.MeanSquaredError => typeof(GpuMeanSquaredError),
        _ => throw new ArgumentOutOfRangeException(nameof(loss), loss, "Unknown loss."),
    };

    /// <summary>The side of a product's square thread tiles: 16, unless a dimension is so small that most of such a tile would idle.</summary>
    public static int TileSide(int rows, int columns) => rows >= Tile16.Size && columns >= Tile16.Size ? Tile16.Size : Tile8.Size;

    /// <summary>The type of a <see cref="TileSide"/>.</summary>
    public static Type Tile(int side) => side == Tile16.Size ? typeof(Tile16) : typeof(Tile8);

    public static Type MaskMode(bool masked) => masked ? typeof(Masked) : typeof(Unmasked);

    private struct ActivationType : IActivationVisitor
    {
        public Type? Type;

        public void Visit<TActivation>()
            where TActivation : struct, IActivationKernel => Type = typeof(TActivation);
    }
}
