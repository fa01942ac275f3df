using FusedNets.Generated;

namespace FusedNets.Backends.Cpu;

/// <summary>
/// Which weights of a sparse masked layer are kept, indexed both ways: by output row (CSR, for the
/// forward) and by input column (CSC, for the backward data). The values stay in the dense W, read
/// through these indices, so the update, the parameter copies and the dense kernels share one storage.
/// </summary>
internal sealed class SparseStructure
{
    /// <summary>Below this fraction of kept weights, skipping the zeros beats the dense tiles.</summary>
    public const double DensityThreshold = 0.3;

    private SparseStructure(int[] rowStarts, int[] columns, int[] columnStarts, int[] rows)
    {
        RowStarts = rowStarts;
        Columns = columns;
        ColumnStarts = columnStarts;
        Rows = rows;
    }

    /// <summary>Row o's kept inputs are <see cref="Columns"/>[RowStarts[o] .. RowStarts[o + 1]), ascending.</summary>
    public int[] RowStarts { get; }

    public int[] Columns { get; }

    /// <summary>Column i's kept outputs are <see cref="Rows"/>[ColumnStarts[i] .. ColumnStarts[i + 1]), ascending.</summary>
    public int[] ColumnStarts { get; }

    public int[] Rows { get; }

    /// <summary>The structure of <paramref name="mask"/> (row-major [units, inputs]) if it is sparse enough to pay off, else null.</summary>
    public static SparseStructure? TryCreate(float[] mask, int units, int inputs)
    {
        int kept = mask.Count(value => value != 0);
        if (kept >= DensityThreshold * mask.Length)
        {
            return null;
        }

        var rowStarts = new int[units + 1];
        var columns = new int[kept];
        var columnStarts = new int[inputs + 1];
        var rows = new int[kept];
        int next = 0;
        for (int o = 0; o < units; o++)
        {
            for (int i = 0; i < inputs; i++)
            {
                if (mask[o * inputs + i] != 0)
                {
                    columns[next++] = i;
                    columnStarts[i + 1]++;
                }
            }

            rowStarts[o + 1] = next;
        }

        for (int i = 0; i < inputs; i++)
        {
            columnStarts[i + 1] += columnStarts[i];
        }

        var filled = (int[])columnStarts.Clone();
        for (int o = 0; o < units; o++)
        {
            for (int k = rowStarts[o]; k < rowStarts[o + 1]; k++)
            {
                rows[filled[columns[k]]++] = o;
            }
        }

        return new SparseStructure(rowStarts, columns, columnStarts, rows);
    }
}

/// <summary>
/// Products of a sparse layer, row by row over the kept weights only, vectorized across the batch; they
/// finish through the same epilogues as the dense tiles. Skipping a weight that is exactly zero drops a
/// term a·0 from a chain of fused multiply-adds, which leaves every finite sum bit for bit the same.
/// </summary>
internal static unsafe class SparseKernel
{
    /// <summary>
    /// C[r, :] = Σ over r's kept entries k of value(r, k) · B[k, :], for rows [rowStart, rowEnd), where
    /// value(r, k) = values[r * valueRowStride + k * valueIndexStride] and the kept k of row r are
    /// indices[starts[r] .. starts[r + 1]).
    /// </summary>
    public static void Product<TVector, TOps, TEpilogue>(
        int[] starts, int[] indices, float* values, nint valueRowStride, nint valueIndexStride,
        float* b, nint bStride, int rowStart, int rowEnd, int columnVectors, ref TEpilogue epilogue)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TEpilogue : struct, ITileEpilogue
    {
        int width = TOps.Count;
        fixed (int* start = starts, index = indices)
        {
            for (int vector = 0; vector < columnVectors; vector += TileKernel.TileVectors)
            {
                int vectors = Math.Min(TileKernel.TileVectors, columnVectors - vector);
                for (int row = rowStart; row < rowEnd; row++)
                {
                    var kept = new KeptEntries(index + start[row], start[row + 1] - start[row], values + row * valueRowStride, valueIndexStride);
                    float* columns = b + vector * width;
                    switch (vectors)
                    {
                        case 4: Row<TVector, TOps, Four, TEpilogue>(kept, columns, bStride, ref epilogue, row, vector * width); break;
                        case 3: Row<TVector, TOps, Three, TEpilogue>(kept, columns, bStride, ref epilogue, row, vector * width); break;
                        case 2: Row<TVector, TOps, Two, TEpilogue>(kept, columns, bStride, ref epilogue, row, vector * width); break;
                        default: Row<TVector, TOps, One, TEpilogue>(kept, columns, bStride, ref epilogue, row, vector * width); break;
                    }
                }
            }
        }
    }

    private static void Row<TVector, TOps, TVectors, TEpilogue>(in KeptEntries kept, float* b, nint bStride, ref TEpilogue epilogue, int row, int column)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TVectors : IConstant
        where TEpilogue : struct, ITileEpilogue
    {
        int width = TOps.Count;
        TVector c0 = default, c1 = default, c2 = default, c3 = default;
        for (int k = 0; k < kept.Count; k++)
        {
            int at = kept.Indices[k];
            TVector value = TOps.Broadcast(kept.Values[at * kept.ValueIndexStride]);
            float* source = b + at * bStride;
            c0 = TOps.MultiplyAdd(value, TOps.Load(source), c0);
            if (TVectors.Value > 1) { c1 = TOps.MultiplyAdd(value, TOps.Load(source + width), c1); }
            if (TVectors.Value > 2) { c2 = TOps.MultiplyAdd(value, TOps.Load(source + 2 * width), c2); }
            if (TVectors.Value > 3) { c3 = TOps.MultiplyAdd(value, TOps.Load(source + 3 * width), c3); }
        }

        epilogue.Row<TVector, TOps>(row, column, TVectors.Value, c0, c1, c2, c3);
    }

    private readonly struct KeptEntries(int* indices, int count, float* values, nint valueIndexStride)
    {
        public readonly int* Indices = indices;
        public readonly int Count = count;
        public readonly float* Values = values;
        public readonly nint ValueIndexStride = valueIndexStride;
    }
}
