namespace FusedNets.Backends.Cpu;

/// <summary>
/// A block-diagonal mask: rows and columns split into consecutive ranges, block b keeping weights only within
/// (rows b × columns b). An ensemble run as one network has such layers (every layer after the first is its members'
/// layers side by side, <see cref="EnsembleArchitecture"/>); the dense tiles then run block by block and skip the zeros
/// between blocks, which the sparse kernels would also skip, but at a fraction of the tiles' rate.
/// </summary>
internal sealed class BlockStructure
{
    /// <summary>
    /// Within its blocks a mask must keep at least this fraction for the dense tiles to be worth it there; a sparser
    /// one is left to the sparse kernels (<see cref="SparseStructure.DensityThreshold"/>, the same trade).
    /// </summary>
    private const double DensityWithinBlocks = SparseStructure.DensityThreshold;

    private BlockStructure(int[] rowStarts, int[] columnStarts)
    {
        RowStarts = rowStarts;
        ColumnStarts = columnStarts;
    }

    /// <summary>Block b's rows are [RowStarts[b], RowStarts[b + 1]); the last entry is the row count.</summary>
    public int[] RowStarts { get; }

    /// <summary>Block b's columns are [ColumnStarts[b], ColumnStarts[b + 1]); the last entry is the column count.</summary>
    public int[] ColumnStarts { get; }

    public int Blocks => RowStarts.Length - 1;

    /// <summary>
    /// The blocks of <paramref name="mask"/> (row-major [units, inputs]) when it is block diagonal with at least two
    /// blocks, each dense enough inside; else null. Blocks are found row by row: a row whose kept columns reach into
    /// the current block's columns joins it (and widens it); one whose kept columns all lie beyond starts the next
    /// block; one reaching back into an earlier block's columns means the mask is not block diagonal. Rows that keep
    /// nothing join the current block; columns no row keeps join the block after them.
    /// </summary>
    public static BlockStructure? TryCreate(float[] mask, int units, int inputs)
    {
        var rowStarts = new List<int> { 0 };
        var columnStarts = new List<int> { 0 };
        int blockEnd = 0; // one past the last column the current block's rows keep so far
        long kept = 0;
        for (int o = 0; o < units; o++)
        {
            ReadOnlySpan<float> row = mask.AsSpan(o * inputs, inputs);
            int first = row.IndexOfAnyExcept(0f), last = row.LastIndexOfAnyExcept(0f);
            if (first < 0)
            {
                continue;
            }

            if (first < columnStarts[^1])
            {
                return null;
            }

            if (first >= blockEnd && blockEnd > columnStarts[^1])
            {
                rowStarts.Add(o);
                columnStarts.Add(blockEnd);
            }

            blockEnd = Math.Max(blockEnd, last + 1);
            kept += row.Length - row.Count(0f);
        }

        rowStarts.Add(units);
        columnStarts.Add(inputs);
        if (rowStarts.Count < 3)
        {
            return null;
        }

        var structure = new BlockStructure([.. rowStarts], [.. columnStarts]);
        long area = 0;
        for (int b = 0; b < structure.Blocks; b++)
        {
            area += (long)(structure.RowStarts[b + 1] - structure.RowStarts[b]) * (structure.ColumnStarts[b + 1] - structure.ColumnStarts[b]);
        }

        return kept >= DensityWithinBlocks * area ? structure : null;
    }
}
