using System.Runtime.CompilerServices;
using FusedNets.Generated;

namespace FusedNets.Backends.Cpu;

/// <summary>
/// The taps of one position of a convolution: Σ A[row, tap] · B[tap] over three nested loops (outermost first:
/// channels or filters, then the kernel's rows, then its columns), each with its own step through A and B. Only
/// taps that land inside the map are listed, so zero padding is neither stored nor multiplied.
/// </summary>
/// <remarks>
/// A is read one element at a time (broadcast) and rows of A are <c>aRowStride</c> apart; B is read as vectors of
/// the batch, the tile's vectors side by side. The forward lists, for an output position, its (channel, row, column)
/// taps over the input; the backward data lists, for an input position, the (filter, row, column) taps of the
/// outputs that read it, stepping backwards through them.
/// </remarks>
internal readonly unsafe struct StencilTaps(
    float* a,
    float* b,
    int outer,
    nint aOuter,
    nint bOuter,
    int middle,
    nint aMiddle,
    nint bMiddle,
    int inner,
    nint aInner,
    nint bInner)
{
    public readonly float* A = a;
    public readonly float* B = b;
    public readonly int Outer = outer;
    public readonly nint AOuter = aOuter;
    public readonly nint BOuter = bOuter;
    public readonly int Middle = middle;
    public readonly nint AMiddle = aMiddle;
    public readonly nint BMiddle = bMiddle;
    public readonly int Inner = inner;
    public readonly nint AInner = aInner;
    public readonly nint BInner = bInner;
}

/// <summary>
/// A direct convolution at one position, register-blocked as <see cref="TileKernel"/>: up to 6 rows (filters, or
/// channels for the backward) × 4 vectors of samples held in registers over every tap, then an epilogue. Each
/// output is one chain of fused multiply-adds in tap order, whichever thread or tile computes it.
/// </summary>
/// <remarks>
/// The batch is the vector dimension, as everywhere between layers, so the taps of a position need no im2col:
/// each tap is 4 contiguous vectors of the input's row for that pixel. The tile body is <see cref="TileKernel"/>'s;
/// only the walk through the depth differs (three loops instead of one constant stride).
/// </remarks>
internal static unsafe class ConvolutionKernel
{
    /// <summary>
    /// Rows [0, <paramref name="rows"/>) of one position's output, <paramref name="vectors"/> (1 to 4) vectors
    /// starting at <paramref name="column"/> of the epilogue's layout; row r of A starts r · <paramref name="aRowStride"/> past <see cref="StencilTaps.A"/>.
    /// </summary>
    public static void Position<TVector, TOps, TEpilogue>(in StencilTaps taps, nint aRowStride, int rows, int vectors, int column, ref TEpilogue epilogue)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TEpilogue : struct, ITileEpilogue
    {
        for (int row = 0; row < rows; row += TileKernel.TileRows)
        {
            var tile = new StencilTaps(
                taps.A + row * aRowStride, taps.B,
                taps.Outer, taps.AOuter, taps.BOuter,
                taps.Middle, taps.AMiddle, taps.BMiddle,
                taps.Inner, taps.AInner, taps.BInner);
            switch (Math.Min(TileKernel.TileRows, rows - row))
            {
                case 6: ByVectors<TVector, TOps, Six, TEpilogue>(vectors, tile, aRowStride, ref epilogue, row, column); break;
                case 5: ByVectors<TVector, TOps, Five, TEpilogue>(vectors, tile, aRowStride, ref epilogue, row, column); break;
                case 4: ByVectors<TVector, TOps, Four, TEpilogue>(vectors, tile, aRowStride, ref epilogue, row, column); break;
                case 3: ByVectors<TVector, TOps, Three, TEpilogue>(vectors, tile, aRowStride, ref epilogue, row, column); break;
                case 2: ByVectors<TVector, TOps, Two, TEpilogue>(vectors, tile, aRowStride, ref epilogue, row, column); break;
                default: ByVectors<TVector, TOps, One, TEpilogue>(vectors, tile, aRowStride, ref epilogue, row, column); break;
            }
        }
    }

    private static void ByVectors<TVector, TOps, TRows, TEpilogue>(int vectors, in StencilTaps tile, nint aRowStride, ref TEpilogue epilogue, int row, int column)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TRows : IConstant
        where TEpilogue : struct, ITileEpilogue
    {
        switch (vectors)
        {
            case 4: Tile<TVector, TOps, TRows, Four, TEpilogue>(tile, aRowStride, ref epilogue, row, column); break;
            case 3: Tile<TVector, TOps, TRows, Three, TEpilogue>(tile, aRowStride, ref epilogue, row, column); break;
            case 2: Tile<TVector, TOps, TRows, Two, TEpilogue>(tile, aRowStride, ref epilogue, row, column); break;
            default: Tile<TVector, TOps, TRows, One, TEpilogue>(tile, aRowStride, ref epilogue, row, column); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TVector, TOps, TRows, TVectors, TEpilogue>(in StencilTaps taps, nint aRowStride, ref TEpilogue epilogue, int row, int column)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TRows : IConstant
        where TVectors : IConstant
        where TEpilogue : struct, ITileEpilogue
    {
        int width = TOps.Count;
        nint r1 = aRowStride, r2 = 2 * r1, r3 = 3 * r1, r4 = 4 * r1, r5 = 5 * r1;
        nint aInner = taps.AInner, bInner = taps.BInner, aMiddleStep = taps.AMiddle, bMiddleStep = taps.BMiddle;
        int middleCount = taps.Middle, innerCount = taps.Inner;
        TVector c00 = default, c01 = default, c02 = default, c03 = default;
        TVector c10 = default, c11 = default, c12 = default, c13 = default;
        TVector c20 = default, c21 = default, c22 = default, c23 = default;
        TVector c30 = default, c31 = default, c32 = default, c33 = default;
        TVector c40 = default, c41 = default, c42 = default, c43 = default;
        TVector c50 = default, c51 = default, c52 = default, c53 = default;

        float* aOuter = taps.A, bOuter = taps.B;
        for (int outer = taps.Outer; outer > 0; outer--)
        {
            float* aMiddle = aOuter, bMiddle = bOuter;
            for (int middle = middleCount; middle > 0; middle--)
            {
                float* a = aMiddle, b = bMiddle;
                for (int inner = innerCount; inner > 0; inner--)
                {
                    TVector b0 = TOps.Load(b);
                    TVector b1 = TVectors.Value > 1 ? TOps.Load(b + width) : default;
                    TVector b2 = TVectors.Value > 2 ? TOps.Load(b + 2 * width) : default;
                    TVector b3 = TVectors.Value > 3 ? TOps.Load(b + 3 * width) : default;

                    TVector a0 = TOps.Broadcast(a[0]);
                    c00 = TOps.MultiplyAdd(a0, b0, c00);
                    if (TVectors.Value > 1) { c01 = TOps.MultiplyAdd(a0, b1, c01); }
                    if (TVectors.Value > 2) { c02 = TOps.MultiplyAdd(a0, b2, c02); }
                    if (TVectors.Value > 3) { c03 = TOps.MultiplyAdd(a0, b3, c03); }

                    if (TRows.Value > 1)
                    {
                        TVector a1 = TOps.Broadcast(a[r1]);
                        c10 = TOps.MultiplyAdd(a1, b0, c10);
                        if (TVectors.Value > 1) { c11 = TOps.MultiplyAdd(a1, b1, c11); }
                        if (TVectors.Value > 2) { c12 = TOps.MultiplyAdd(a1, b2, c12); }
                        if (TVectors.Value > 3) { c13 = TOps.MultiplyAdd(a1, b3, c13); }
                    }

                    if (TRows.Value > 2)
                    {
                        TVector a2 = TOps.Broadcast(a[r2]);
                        c20 = TOps.MultiplyAdd(a2, b0, c20);
                        if (TVectors.Value > 1) { c21 = TOps.MultiplyAdd(a2, b1, c21); }
                        if (TVectors.Value > 2) { c22 = TOps.MultiplyAdd(a2, b2, c22); }
                        if (TVectors.Value > 3) { c23 = TOps.MultiplyAdd(a2, b3, c23); }
                    }

                    if (TRows.Value > 3)
                    {
                        TVector a3 = TOps.Broadcast(a[r3]);
                        c30 = TOps.MultiplyAdd(a3, b0, c30);
                        if (TVectors.Value > 1) { c31 = TOps.MultiplyAdd(a3, b1, c31); }
                        if (TVectors.Value > 2) { c32 = TOps.MultiplyAdd(a3, b2, c32); }
                        if (TVectors.Value > 3) { c33 = TOps.MultiplyAdd(a3, b3, c33); }
                    }

                    if (TRows.Value > 4)
                    {
                        TVector a4 = TOps.Broadcast(a[r4]);
                        c40 = TOps.MultiplyAdd(a4, b0, c40);
                        if (TVectors.Value > 1) { c41 = TOps.MultiplyAdd(a4, b1, c41); }
                        if (TVectors.Value > 2) { c42 = TOps.MultiplyAdd(a4, b2, c42); }
                        if (TVectors.Value > 3) { c43 = TOps.MultiplyAdd(a4, b3, c43); }
                    }

                    if (TRows.Value > 5)
                    {
                        TVector a5 = TOps.Broadcast(a[r5]);
                        c50 = TOps.MultiplyAdd(a5, b0, c50);
                        if (TVectors.Value > 1) { c51 = TOps.MultiplyAdd(a5, b1, c51); }
                        if (TVectors.Value > 2) { c52 = TOps.MultiplyAdd(a5, b2, c52); }
                        if (TVectors.Value > 3) { c53 = TOps.MultiplyAdd(a5, b3, c53); }
                    }

                    a += aInner;
                    b += bInner;
                }

                aMiddle += aMiddleStep;
                bMiddle += bMiddleStep;
            }

            aOuter += taps.AOuter;
            bOuter += taps.BOuter;
        }

        epilogue.Row<TVector, TOps>(row, column, TVectors.Value, c00, c01, c02, c03);
        if (TRows.Value > 1) { epilogue.Row<TVector, TOps>(row + 1, column, TVectors.Value, c10, c11, c12, c13); }
        if (TRows.Value > 2) { epilogue.Row<TVector, TOps>(row + 2, column, TVectors.Value, c20, c21, c22, c23); }
        if (TRows.Value > 3) { epilogue.Row<TVector, TOps>(row + 3, column, TVectors.Value, c30, c31, c32, c33); }
        if (TRows.Value > 4) { epilogue.Row<TVector, TOps>(row + 4, column, TVectors.Value, c40, c41, c42, c43); }
        if (TRows.Value > 5) { epilogue.Row<TVector, TOps>(row + 5, column, TVectors.Value, c50, c51, c52, c53); }
    }
}
