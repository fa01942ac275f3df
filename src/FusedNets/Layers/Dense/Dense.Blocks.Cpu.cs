using FusedNets.Backends.Cpu;

namespace FusedNets.Generated;

// The dense layer's products for a block-diagonal W (BlockStructure): block b maps columns [c_b, c_b+1) of the input to
// rows [r_b, r_b+1), as each member of an ensemble maps its own part of the layer below to its own part of this one.
//   forward:   zᵀ[r_b..] = W[r_b.., c_b..] xᵀ[c_b..] + b, y = f(z)    depth: the block's columns
//   backward:  dxᵀ[c_b..] = W[r_b.., c_b..]ᵀ dzᵀ[r_b..]              depth: the block's rows
//   update:    dW[r_b.., c_b..] = dzᵀ[r_b..] x[:, c_b..], then SGD    whole vectors of columns; the masked ones stay zero
// Each output is the chain its block alone gives, the one the network whose layer the block is computes on its own.
// The weights are W, or |W| in W's layout for interval bounds.
internal sealed unsafe partial class DenseCpuLayer<TVector, TOps>
{
    private void ForwardBlocks<TEpilogue>(BlockStructure blocks, float* weights, float* input, int stride, int start, int end, ref TEpilogue epilogue)
        where TEpilogue : struct, ITileEpilogue
    {
        for (int b = 0; b < blocks.Blocks; b++)
        {
            int rowStart = Math.Max(start, blocks.RowStarts[b]), rowEnd = Math.Min(end, blocks.RowStarts[b + 1]);
            if (rowStart < rowEnd)
            {
                int column = blocks.ColumnStarts[b];
                var operands = new ProductOperands(
                    weights + column, _weights.WeightStride, 1, input + (nint)column * stride, stride, blocks.ColumnStarts[b + 1] - column);
                TileKernel.Product<TVector, TOps, TEpilogue>(operands, rowStart, rowEnd, stride / TOps.Count, ref epilogue);
            }
        }
    }

    private void BackwardBlocks<TEpilogue>(BlockStructure blocks, float* weights, float* delta, int stride, int start, int end, ref TEpilogue epilogue)
        where TEpilogue : struct, ITileEpilogue
    {
        for (int b = 0; b < blocks.Blocks; b++)
        {
            int columnStart = Math.Max(start, blocks.ColumnStarts[b]), columnEnd = Math.Min(end, blocks.ColumnStarts[b + 1]);
            if (columnStart < columnEnd)
            {
                int row = blocks.RowStarts[b];
                var operands = new ProductOperands(
                    weights + (nint)row * _weights.WeightStride, 1, _weights.WeightStride, delta + (nint)row * stride, stride, blocks.RowStarts[b + 1] - row);
                TileKernel.Product<TVector, TOps, TEpilogue>(operands, columnStart, columnEnd, stride / TOps.Count, ref epilogue);
            }
        }
    }

    private void UpdateBlocks<TRule>(CpuPipeline<TVector, TOps> cpu, BlockStructure blocks, in TRule rule, float* delta, int start, int end, int thread)
        where TRule : struct, IUpdateRule
    {
        float* inputRows = _inputsAreRows ? cpu.Inputs : _inputRows.Pointer;
        int width = TOps.Count;
        for (int b = 0; b < blocks.Blocks; b++)
        {
            int rowStart = Math.Max(start, blocks.RowStarts[b]), rowEnd = Math.Min(end, blocks.RowStarts[b + 1]);
            if (rowStart < rowEnd)
            {
                int firstColumn = blocks.ColumnStarts[b] / width * width, endColumn = CpuLayout.RoundUp(blocks.ColumnStarts[b + 1], width);
                CpuUpdates.DenseColumns(cpu, _weights, rule, delta, cpu.Stride, inputRows, cpu.Batch, rowStart, rowEnd, firstColumn, endColumn, thread);
            }
        }
    }
}
