using FusedNets.Backends.Cpu;

namespace FusedNets.Tests.Cpu;

/// <summary>Which masks the dense layer runs block by block: block-diagonal ones, dense enough within their blocks.</summary>
public class BlockStructureTests
{
    [Fact]
    public void An_ensembles_block_diagonal_mask_gives_one_block_per_member()
    {
        var layout = new EnsembleArchitecture(Ensembles.EnsembleMlp.Definition, members: 4);

        BlockStructure? blocks = BlockStructure.TryCreate(layout.Masks[2]!, 4 * 3, 4 * 21);

        Assert.NotNull(blocks);
        Assert.Equal([0, 3, 6, 9, 12], blocks.RowStarts);
        Assert.Equal([0, 21, 42, 63, 84], blocks.ColumnStarts);
    }

    [Fact]
    public void Columns_no_row_keeps_join_the_block_after_them()
    {
        // Rows 0-1 keep columns 1-2, rows 2-3 keep columns 5-6: columns 0 and 3-4 are kept by no row, 7 neither.
        float[] mask = Mask(4, 8, (o, i) => o < 2 ? i is 1 or 2 : i is 5 or 6);

        BlockStructure? blocks = BlockStructure.TryCreate(mask, 4, 8);

        Assert.NotNull(blocks);
        Assert.Equal([0, 2, 4], blocks.RowStarts);
        Assert.Equal([0, 3, 8], blocks.ColumnStarts);
    }

    [Theory]
    [InlineData("one block")]
    [InlineData("reaches back")]
    [InlineData("too sparse within")]
    public void Other_masks_are_left_to_the_dense_or_sparse_kernels(string mask)
    {
        // Too sparse within: two blocks of 3 rows × 8 columns, each row keeping only its block's first and last column.
        float[] values = mask switch
        {
            "one block" => Mask(6, 16, (o, i) => Math.Abs(o - i) <= 1),
            "reaches back" => Mask(6, 16, (o, i) => o < 3 ? i < 8 : i >= 8 || (o == 5 && i == 0)),
            _ => Mask(6, 16, (o, i) => o < 3 ? i is 0 or 7 : i is 8 or 15),
        };

        Assert.Null(BlockStructure.TryCreate(values, 6, 16));
    }

    private static float[] Mask(int rows, int columns, Func<int, int, bool> keep) =>
        [.. Enumerable.Range(0, rows * columns).Select(k => keep(k / columns, k % columns) ? 1f : 0f)];
}
