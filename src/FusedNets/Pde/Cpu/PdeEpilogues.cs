using System.Runtime.CompilerServices;
using FusedNets.Generated;

namespace FusedNets.Backends.Cpu;

/// <summary>
/// The value columns of a layer's forward: z = (W y) + b, stored for the activation pass that follows (which needs every
/// channel of a point at once, so it cannot run in the product's registers). The derivative columns take no bias and go
/// through <see cref="StoreEpilogue"/>.
/// </summary>
internal readonly unsafe struct BiasStoreEpilogue(float* bias, float* destination, nint stride) : ITileEpilogue
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Row<TVector, TOps>(int row, int column, int vectors, TVector c0, TVector c1, TVector c2, TVector c3)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        TVector b = TOps.Broadcast(bias[row]);
        float* z = destination + row * stride + column;
        int width = TOps.Count;
        TOps.Store(z, TOps.Add(c0, b));
        if (vectors > 1) { TOps.Store(z + width, TOps.Add(c1, b)); }
        if (vectors > 2) { TOps.Store(z + 2 * width, TOps.Add(c2, b)); }
        if (vectors > 3) { TOps.Store(z + 3 * width, TOps.Add(c3, b)); }
    }
}

/// <summary>
/// Adds a matrix to a product's tile rows before <typeparamref name="TInner"/> finishes them: the first layer's weight
/// gradient is dz yᵀ over the value columns plus, for each input i, the sum of dz over the ∂/∂x_i columns (whose y is
/// the unit vector e_i), summed beforehand into <paramref name="addend"/> rather than multiplied by unit vectors.
/// </summary>
internal readonly unsafe struct AddMatrixEpilogue<TInner>(float* addend, nint stride, TInner inner) : ITileEpilogue
    where TInner : struct, ITileEpilogue
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Row<TVector, TOps>(int row, int column, int vectors, TVector c0, TVector c1, TVector c2, TVector c3)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        float* add = addend + row * stride + column;
        int width = TOps.Count;
        c0 = TOps.Add(c0, TOps.Load(add));
        if (vectors > 1) { c1 = TOps.Add(c1, TOps.Load(add + width)); }
        if (vectors > 2) { c2 = TOps.Add(c2, TOps.Load(add + 2 * width)); }
        if (vectors > 3) { c3 = TOps.Add(c3, TOps.Load(add + 3 * width)); }
        inner.Row<TVector, TOps>(row, column, vectors, c0, c1, c2, c3);
    }
}
