using System.Runtime.CompilerServices;
using FusedNets.Backends.Cpu;

namespace FusedNets;

public sealed partial record AvgPool2DLayerArchitecture
{
    internal override CpuLayer<TVector, TOps> CreateCpuLayer<TVector, TOps>(int index, float[]? mask) =>
        new PoolingCpuLayer<TVector, TOps, AvgPoolRule>(index, this);
}

/// <summary>
/// The window's sum, rows then columns, times 1 / size² (the reference's division exactly when size is a power of two,
/// else to the last bit or so); the gradient, times the same, to every position of the window.
/// </summary>
internal readonly struct AvgPoolRule : IPoolingRule
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe TVector Reduce<TVector, TOps>(float* values, nint rowStep, nint columnStep, int size)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        TVector sum = TOps.Load(values);
        for (int i = 0; i < size; i++)
        {
            for (int j = i == 0 ? 1 : 0; j < size; j++)
            {
                sum = TOps.Add(sum, TOps.Load(values + i * rowStep + j * columnStep));
            }
        }

        return TOps.Multiply(sum, TOps.Broadcast(1f / (size * size)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Route<TVector, TOps, TEpilogue>(float* values, nint rowStep, nint columnStep, int size, TVector gradient, ref TEpilogue epilogue, int feature, int featureRowStep, int column)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TEpilogue : struct, ITileEpilogue
    {
        TVector share = TOps.Multiply(gradient, TOps.Broadcast(1f / (size * size)));
        for (int i = 0; i < size; i++)
        {
            for (int j = 0; j < size; j++)
            {
                epilogue.Row<TVector, TOps>(feature + i * featureRowStep + j, column, 1, share, default, default, default);
            }
        }
    }
}
