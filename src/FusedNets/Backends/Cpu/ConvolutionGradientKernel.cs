using System.Runtime.CompilerServices;
using FusedNets.Generated;

namespace FusedNets.Backends.Cpu;

/// <summary>
/// How a convolution's weight gradient walks its depth, every output position × every sample: for each output row,
/// <see cref="Runs"/> runs of <see cref="RunVectors"/> contiguous vectors of the input. With stride 1 a whole output
/// row is one run (its positions' samples lie back to back in the input's rows); with a larger stride each position
/// is a run of its own.
/// </summary>
internal readonly struct GradientWalk(int rows, int runs, int runVectors, nint rowStep, nint runStep)
{
    /// <summary>Output rows.</summary>
    public readonly int Rows = rows;

    /// <summary>Runs per output row.</summary>
    public readonly int Runs = runs;

    public readonly int RunVectors = runVectors;

    /// <summary>Floats of the input from one output row to the next.</summary>
    public readonly nint RowStep = rowStep;

    /// <summary>Floats of the input from one run to the next.</summary>
    public readonly nint RunStep = runStep;
}

/// <summary>
/// A convolution's weight gradient, dW[f, k] = Σ over positions p and samples s of dz[f, p, s] · x[tap k of p, s],
/// for a tile of up to 4 filters × 6 taps held as vectors of partial sums over the samples' lanes, summed across
/// the lanes at the end. Each step loads one vector of dz per filter and one of the input per tap and does
/// filters × taps fused multiply-adds; the depth is every position of every sample, read straight from the
/// feature-major values with no transposed copy.
/// </summary>
/// <remarks>
/// Each sum is one chain per lane in depth order and then <see cref="IVectorOps{TVector}.Sum"/>, whichever
/// thread computes the tile: the same bits for any thread count. Lanes split the samples differently at each
/// width, so widths agree to rounding, not bit for bit (the forward does agree across widths).
/// </remarks>
internal static unsafe class ConvolutionGradientKernel
{
    /// <summary>Filters per tile at most.</summary>
    public const int MaxRows = 4;

    /// <summary>Taps per tile at most.</summary>
    public const int MaxColumns = 6;

    /// <summary>
    /// The sums of a <paramref name="rows"/> × <paramref name="columns"/> tile into <paramref name="sums"/>
    /// (row-major, <see cref="MaxColumns"/> apart): row r reads dz from <paramref name="dz"/> + r · <paramref name="dzRowStride"/>,
    /// column c the input from <paramref name="taps"/>[c].
    /// </summary>
    public static void Tile<TVector, TOps>(int rows, int columns, float* dz, nint dzRowStride, float** taps, in GradientWalk walk, float* sums)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        switch (rows)
        {
            case 4: ByColumns<TVector, TOps, Four>(columns, dz, dzRowStride, taps, walk, sums); break;
            case 3: ByColumns<TVector, TOps, Three>(columns, dz, dzRowStride, taps, walk, sums); break;
            case 2: ByColumns<TVector, TOps, Two>(columns, dz, dzRowStride, taps, walk, sums); break;
            default: ByColumns<TVector, TOps, One>(columns, dz, dzRowStride, taps, walk, sums); break;
        }
    }

    private static void ByColumns<TVector, TOps, TRows>(int columns, float* dz, nint dzRowStride, float** taps, in GradientWalk walk, float* sums)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TRows : IConstant
    {
        switch (columns)
        {
            case 6: Tile<TVector, TOps, TRows, Six>(dz, dzRowStride, taps, walk, sums); break;
            case 5: Tile<TVector, TOps, TRows, Five>(dz, dzRowStride, taps, walk, sums); break;
            case 4: Tile<TVector, TOps, TRows, Four>(dz, dzRowStride, taps, walk, sums); break;
            case 3: Tile<TVector, TOps, TRows, Three>(dz, dzRowStride, taps, walk, sums); break;
            case 2: Tile<TVector, TOps, TRows, Two>(dz, dzRowStride, taps, walk, sums); break;
            default: Tile<TVector, TOps, TRows, One>(dz, dzRowStride, taps, walk, sums); break;
        }
    }

    /// <summary>
    /// TRows × TColumns accumulators (at most 24) plus the TColumns input vectors of a step and one vector of dz
    /// fit the 32 AVX-512 registers, so the whole depth runs without touching memory but to load operands.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TVector, TOps, TRows, TColumns>(float* dz, nint dzRowStride, float** taps, in GradientWalk walk, float* sums)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TRows : IConstant
        where TColumns : IConstant
    {
        int width = TOps.Count;
        nint d1 = dzRowStride, d2 = 2 * d1, d3 = 3 * d1;
        float* x0 = taps[0];
        float* x1 = TColumns.Value > 1 ? taps[1] : null;
        float* x2 = TColumns.Value > 2 ? taps[2] : null;
        float* x3 = TColumns.Value > 3 ? taps[3] : null;
        float* x4 = TColumns.Value > 4 ? taps[4] : null;
        float* x5 = TColumns.Value > 5 ? taps[5] : null;
        int runs = walk.Runs, runVectors = walk.RunVectors;
        nint rowStep = walk.RowStep, runStep = walk.RunStep;
        TVector c00 = default, c01 = default, c02 = default, c03 = default, c04 = default, c05 = default;
        TVector c10 = default, c11 = default, c12 = default, c13 = default, c14 = default, c15 = default;
        TVector c20 = default, c21 = default, c22 = default, c23 = default, c24 = default, c25 = default;
        TVector c30 = default, c31 = default, c32 = default, c33 = default, c34 = default, c35 = default;

        float* d = dz;
        nint rowStart = 0;
        for (int row = walk.Rows; row > 0; row--)
        {
            nint runStart = rowStart;
            for (int run = runs; run > 0; run--)
            {
                nint at = runStart;
                for (int vector = runVectors; vector > 0; vector--)
                {
                    TVector i0 = TOps.Load(x0 + at);
                    TVector i1 = TColumns.Value > 1 ? TOps.Load(x1 + at) : default;
                    TVector i2 = TColumns.Value > 2 ? TOps.Load(x2 + at) : default;
                    TVector i3 = TColumns.Value > 3 ? TOps.Load(x3 + at) : default;
                    TVector i4 = TColumns.Value > 4 ? TOps.Load(x4 + at) : default;
                    TVector i5 = TColumns.Value > 5 ? TOps.Load(x5 + at) : default;

                    TVector g = TOps.Load(d);
                    c00 = TOps.MultiplyAdd(g, i0, c00);
                    if (TColumns.Value > 1) { c01 = TOps.MultiplyAdd(g, i1, c01); }
                    if (TColumns.Value > 2) { c02 = TOps.MultiplyAdd(g, i2, c02); }
                    if (TColumns.Value > 3) { c03 = TOps.MultiplyAdd(g, i3, c03); }
                    if (TColumns.Value > 4) { c04 = TOps.MultiplyAdd(g, i4, c04); }
                    if (TColumns.Value > 5) { c05 = TOps.MultiplyAdd(g, i5, c05); }

                    if (TRows.Value > 1)
                    {
                        g = TOps.Load(d + d1);
                        c10 = TOps.MultiplyAdd(g, i0, c10);
                        if (TColumns.Value > 1) { c11 = TOps.MultiplyAdd(g, i1, c11); }
                        if (TColumns.Value > 2) { c12 = TOps.MultiplyAdd(g, i2, c12); }
                        if (TColumns.Value > 3) { c13 = TOps.MultiplyAdd(g, i3, c13); }
                        if (TColumns.Value > 4) { c14 = TOps.MultiplyAdd(g, i4, c14); }
                        if (TColumns.Value > 5) { c15 = TOps.MultiplyAdd(g, i5, c15); }
                    }

                    if (TRows.Value > 2)
                    {
                        g = TOps.Load(d + d2);
                        c20 = TOps.MultiplyAdd(g, i0, c20);
                        if (TColumns.Value > 1) { c21 = TOps.MultiplyAdd(g, i1, c21); }
                        if (TColumns.Value > 2) { c22 = TOps.MultiplyAdd(g, i2, c22); }
                        if (TColumns.Value > 3) { c23 = TOps.MultiplyAdd(g, i3, c23); }
                        if (TColumns.Value > 4) { c24 = TOps.MultiplyAdd(g, i4, c24); }
                        if (TColumns.Value > 5) { c25 = TOps.MultiplyAdd(g, i5, c25); }
                    }

                    if (TRows.Value > 3)
                    {
                        g = TOps.Load(d + d3);
                        c30 = TOps.MultiplyAdd(g, i0, c30);
                        if (TColumns.Value > 1) { c31 = TOps.MultiplyAdd(g, i1, c31); }
                        if (TColumns.Value > 2) { c32 = TOps.MultiplyAdd(g, i2, c32); }
                        if (TColumns.Value > 3) { c33 = TOps.MultiplyAdd(g, i3, c33); }
                        if (TColumns.Value > 4) { c34 = TOps.MultiplyAdd(g, i4, c34); }
                        if (TColumns.Value > 5) { c35 = TOps.MultiplyAdd(g, i5, c35); }
                    }

                    d += width;
                    at += width;
                }

                runStart += runStep;
            }

            rowStart += rowStep;
        }

        StoreRow<TVector, TOps, TColumns>(sums, c00, c01, c02, c03, c04, c05);
        if (TRows.Value > 1) { StoreRow<TVector, TOps, TColumns>(sums + MaxColumns, c10, c11, c12, c13, c14, c15); }
        if (TRows.Value > 2) { StoreRow<TVector, TOps, TColumns>(sums + 2 * MaxColumns, c20, c21, c22, c23, c24, c25); }
        if (TRows.Value > 3) { StoreRow<TVector, TOps, TColumns>(sums + 3 * MaxColumns, c30, c31, c32, c33, c34, c35); }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<TVector, TOps, TColumns>(float* sums, TVector s0, TVector s1, TVector s2, TVector s3, TVector s4, TVector s5)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TColumns : IConstant
    {
        sums[0] = TOps.Sum(s0);
        if (TColumns.Value > 1) { sums[1] = TOps.Sum(s1); }
        if (TColumns.Value > 2) { sums[2] = TOps.Sum(s2); }
        if (TColumns.Value > 3) { sums[3] = TOps.Sum(s3); }
        if (TColumns.Value > 4) { sums[4] = TOps.Sum(s4); }
        if (TColumns.Value > 5) { sums[5] = TOps.Sum(s5); }
    }
}
