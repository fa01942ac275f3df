using FusedNets.Generated;
using System.Runtime.CompilerServices;

namespace FusedNets.Backends.Cpu;

/// <summary>
/// The operands of one matrix product C[m, n] = Σ_k A[m, k] B[k, n]. A is read one element at a time
/// (broadcast), with any strides, so the same kernel reads W, Wᵀ or a delta without copying; B is read as
/// vectors along n, each depth step <see cref="BStride"/> floats apart. C never exists in memory: the
/// epilogue receives each finished tile row.
/// </summary>
internal readonly unsafe struct ProductOperands(float* a, nint aRowStride, nint aDepthStride, float* b, nint bStride, int depth)
{
    public readonly float* A = a;
    public readonly nint ARowStride = aRowStride;
    public readonly nint ADepthStride = aDepthStride;
    public readonly float* B = b;
    public readonly nint BStride = bStride;
    public readonly int Depth = depth;
}

/// <summary>What happens to a finished row of a tile: add the bias and activate, multiply by a derivative, or update weights.</summary>
internal interface ITileEpilogue
{
    /// <summary>
    /// Row <paramref name="row"/> of C, columns from <paramref name="column"/>: <paramref name="vectors"/>
    /// (1 to 4) of c0..c3 hold sums. Inlined with <paramref name="vectors"/> a constant, so unused ones vanish.
    /// </summary>
    void Row<TVector, TOps>(int row, int column, int vectors, TVector c0, TVector c1, TVector c2, TVector c3)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>;
}

/// <summary>A compile-time integer as a type, so the JIT folds <c>if (T.Value &gt; 2)</c> away in each specialization.</summary>
internal interface IConstant
{
    static abstract int Value { get; }
}

internal readonly struct One : IConstant { public static int Value => 1; }
internal readonly struct Two : IConstant { public static int Value => 2; }
internal readonly struct Three : IConstant { public static int Value => 3; }
internal readonly struct Four : IConstant { public static int Value => 4; }
internal readonly struct Five : IConstant { public static int Value => 5; }
internal readonly struct Six : IConstant { public static int Value => 6; }

/// <summary>
/// The register-blocked product at the heart of every dense layer: a tile of up to
/// <see cref="TileRows"/> rows × <see cref="TileVectors"/> vectors of C, accumulated over the full depth
/// in registers, then handed to an epilogue.
/// </summary>
internal static unsafe class TileKernel
{
    /// <summary>Rows of C per tile (broadcasts of A per depth step).</summary>
    public const int TileRows = 6;

    /// <summary>Vectors of C per tile (loads of B per depth step).</summary>
    public const int TileVectors = 4;

    /// <summary>
    /// Computes the tiles of C covering rows [<paramref name="rowStart"/>, <paramref name="rowEnd"/>) and
    /// <paramref name="columnVectors"/> vectors of columns, calling <paramref name="epilogue"/> on each row.
    /// </summary>
    /// <remarks>
    /// Column blocks outside, row blocks inside: a block of B (depth × 4 vectors) is read from cache by
    /// every row block while A streams past once per column block. Each element of C is one chain of
    /// fused multiply-adds in depth order, whichever thread or tile computes it.
    /// </remarks>
    public static void Product<TVector, TOps, TEpilogue>(in ProductOperands operands, int rowStart, int rowEnd, int columnVectors, ref TEpilogue epilogue)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TEpilogue : struct, ITileEpilogue
    {
        for (int vector = 0; vector < columnVectors; vector += TileVectors)
        {
            for (int row = rowStart; row < rowEnd; row += TileRows)
            {
                TileAt<TVector, TOps, TEpilogue>(operands, row, rowEnd, vector, columnVectors, ref epilogue);
            }
        }
    }

    /// <summary>
    /// <see cref="Product"/> with row blocks outside and column blocks inside, for the weight update, whose
    /// epilogue reads and writes W and its velocity: each row block then walks its rows of W front to back,
    /// streams the prefetcher follows, where column blocks outside would jump a whole row between tiles.
    /// A (a few rows of deltas) stays in L1 and B (the batch's inputs) in L2. Same sums, same order.
    /// </summary>
    public static void ProductByRows<TVector, TOps, TEpilogue>(in ProductOperands operands, int rowStart, int rowEnd, int columnVectors, ref TEpilogue epilogue)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TEpilogue : struct, ITileEpilogue
    {
        for (int row = rowStart; row < rowEnd; row += TileRows)
        {
            for (int vector = 0; vector < columnVectors; vector += TileVectors)
            {
                TileAt<TVector, TOps, TEpilogue>(operands, row, rowEnd, vector, columnVectors, ref epilogue);
            }
        }
    }

    /// <summary>The tile whose top-left corner is (<paramref name="row"/>, vector <paramref name="vector"/>), clipped to the product.</summary>
    private static void TileAt<TVector, TOps, TEpilogue>(in ProductOperands operands, int row, int rowEnd, int vector, int columnVectors, ref TEpilogue epilogue)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TEpilogue : struct, ITileEpilogue
    {
        int width = TOps.Count;
        int vectors = Math.Min(TileVectors, columnVectors - vector);
        int rows = Math.Min(TileRows, rowEnd - row);
        var tile = new ProductOperands(
            operands.A + row * operands.ARowStride, operands.ARowStride, operands.ADepthStride,
            operands.B + vector * width, operands.BStride, operands.Depth);
        switch (rows)
        {
            case 6: ByVectors<TVector, TOps, Six, TEpilogue>(vectors, tile, ref epilogue, row, vector * width); break;
            case 5: ByVectors<TVector, TOps, Five, TEpilogue>(vectors, tile, ref epilogue, row, vector * width); break;
            case 4: ByVectors<TVector, TOps, Four, TEpilogue>(vectors, tile, ref epilogue, row, vector * width); break;
            case 3: ByVectors<TVector, TOps, Three, TEpilogue>(vectors, tile, ref epilogue, row, vector * width); break;
            case 2: ByVectors<TVector, TOps, Two, TEpilogue>(vectors, tile, ref epilogue, row, vector * width); break;
            default: ByVectors<TVector, TOps, One, TEpilogue>(vectors, tile, ref epilogue, row, vector * width); break;
        }
    }

    private static void ByVectors<TVector, TOps, TRows, TEpilogue>(int vectors, in ProductOperands tile, ref TEpilogue epilogue, int row, int column)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TRows : IConstant
        where TEpilogue : struct, ITileEpilogue
    {
        switch (vectors)
        {
            case 4: Tile<TVector, TOps, TRows, Four, TEpilogue>(tile, ref epilogue, row, column); break;
            case 3: Tile<TVector, TOps, TRows, Three, TEpilogue>(tile, ref epilogue, row, column); break;
            case 2: Tile<TVector, TOps, TRows, Two, TEpilogue>(tile, ref epilogue, row, column); break;
            default: Tile<TVector, TOps, TRows, One, TEpilogue>(tile, ref epilogue, row, column); break;
        }
    }

    /// <summary>
    /// One tile: TRows × TVectors accumulators live in registers for the whole depth loop (24 of the 32
    /// AVX-512 registers in the full 6 × 4 case, plus 4 for B), so each depth step costs 4 loads and
    /// 6 broadcasts for 24 fused multiply-adds, and C is touched once, by the epilogue. The guards on
    /// TRows and TVectors are constants: each specialization compiles to straight-line code with only its
    /// own accumulators.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TVector, TOps, TRows, TVectors, TEpilogue>(in ProductOperands tile, ref TEpilogue epilogue, int row, int column)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TRows : IConstant
        where TVectors : IConstant
        where TEpilogue : struct, ITileEpilogue
    {
        int width = TOps.Count;
        float* a = tile.A;
        float* b = tile.B;
        nint aStep = tile.ADepthStride, bStep = tile.BStride;
        nint r1 = tile.ARowStride, r2 = 2 * r1, r3 = 3 * r1, r4 = 4 * r1, r5 = 5 * r1;
        TVector c00 = default, c01 = default, c02 = default, c03 = default;
        TVector c10 = default, c11 = default, c12 = default, c13 = default;
        TVector c20 = default, c21 = default, c22 = default, c23 = default;
        TVector c30 = default, c31 = default, c32 = default, c33 = default;
        TVector c40 = default, c41 = default, c42 = default, c43 = default;
        TVector c50 = default, c51 = default, c52 = default, c53 = default;

        for (int k = tile.Depth; k > 0; k--)
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

            a += aStep;
            b += bStep;
        }

        epilogue.Row<TVector, TOps>(row, column, TVectors.Value, c00, c01, c02, c03);
        if (TRows.Value > 1) { epilogue.Row<TVector, TOps>(row + 1, column, TVectors.Value, c10, c11, c12, c13); }
        if (TRows.Value > 2) { epilogue.Row<TVector, TOps>(row + 2, column, TVectors.Value, c20, c21, c22, c23); }
        if (TRows.Value > 3) { epilogue.Row<TVector, TOps>(row + 3, column, TVectors.Value, c30, c31, c32, c33); }
        if (TRows.Value > 4) { epilogue.Row<TVector, TOps>(row + 4, column, TVectors.Value, c40, c41, c42, c43); }
        if (TRows.Value > 5) { epilogue.Row<TVector, TOps>(row + 5, column, TVectors.Value, c50, c51, c52, c53); }
    }
}
