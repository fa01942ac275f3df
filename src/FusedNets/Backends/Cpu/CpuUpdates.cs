using FusedNets.Generated;
using System.Runtime.Intrinsics.X86;

namespace FusedNets.Backends.Cpu;

/// <summary>
/// The optimizer step of a weight matrix and its bias, fused with the gradient: the weight gradient is a product
/// whose tiles go straight from registers into the update (<see cref="UpdateEpilogue"/>), so it never round-trips
/// through memory. Every layer with parameters calls these with the product that is its weight gradient.
/// </summary>
internal static unsafe class CpuUpdates
{
    /// <summary>
    /// dW[o, i] = Σ_k A[o, k] B[k, i] for rows [start, end) of W, then the step: A is the layer's delta, rows
    /// <paramref name="aRowStride"/> apart, B its input sample-major with rows W's stride apart, k over <paramref name="depth"/>.
    /// </summary>
    public static void Dense<TVector, TOps>(CpuPipeline<TVector, TOps> cpu, CpuWeights weights, float* a, nint aRowStride, float* b, int depth, int start, int end, int thread)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector> =>
        DenseColumns(cpu, weights, a, aRowStride, b, depth, start, end, 0, weights.WeightStride, thread);

    /// <summary>
    /// <see cref="Dense"/> for columns [<paramref name="firstColumn"/>, <paramref name="endColumn"/>) of W alone, both
    /// multiples of the vector width: one block of a block-diagonal layer (<see cref="BlockStructure"/>). The columns of
    /// neighbouring blocks that its first and last vectors reach are masked in these rows, so they stay zero.
    /// </summary>
    public static void DenseColumns<TVector, TOps>(CpuPipeline<TVector, TOps> cpu, CpuWeights weights, float* a, nint aRowStride, float* b, int depth, int start, int end, int firstColumn, int endColumn, int thread)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        var operands = new ProductOperands(a, aRowStride, 1, b + firstColumn, weights.WeightStride, depth);
        var epilogue = new UpdateEpilogue(
            weights.Weights.Pointer + firstColumn,
            weights.WeightVelocities.Pointer + firstColumn,
            weights.NextWeights.Pointer + firstColumn,
            weights.NextWeightVelocities.Pointer + firstColumn,
            weights.Mask is null ? null : weights.Mask.Pointer + firstColumn,
            cpu.NonFiniteSlot(thread),
            weights.WeightStride,
            cpu.Sgd,
            cpu.StreamingUpdates);
        TileKernel.ProductByRows<TVector, TOps, UpdateEpilogue>(operands, start, end, (endColumn - firstColumn) / TOps.Count, ref epilogue);
        if (cpu.StreamingUpdates && Sse.IsSupported)
        {
            Sse.StoreFence(); // streaming stores are weakly ordered: make them visible before the barrier releases the readers
        }
    }

    /// <summary>
    /// dW[o, i] = Σ_b deltaᵀ[o, b] xᵀ[i, b] for kept weights only, each a dot product of two feature-major
    /// rows, then the scalar SGD rule. Masked weights are never visited, so they stay exactly zero in both buffers.
    /// </summary>
    public static void Sparse<TVector, TOps>(CpuPipeline<TVector, TOps> cpu, CpuWeights weights, SparseStructure sparse, float* inputColumns, float* delta, int start, int end, int thread)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        float* w = weights.Weights.Pointer, nextWeights = weights.NextWeights.Pointer;
        float* velocities = weights.WeightVelocities.Pointer, nextVelocities = weights.NextWeightVelocities.Pointer;
        SgdStep sgd = cpu.Sgd;
        nint stride = cpu.Stride;
        float nonFinite = 0;
        for (int o = start; o < end; o++)
        {
            float* deltaRow = delta + o * stride;
            for (int k = sparse.RowStarts[o]; k < sparse.RowStarts[o + 1]; k++)
            {
                int i = sparse.Columns[k];
                float gradient = Dot<TVector, TOps>(deltaRow, inputColumns + i * stride, cpu.Batch);
                nint at = o * weights.WeightStride + i;
                float velocity = velocities[at];
                nextWeights[at] = sgd.UpdateWeight(w[at], ref velocity, gradient);
                nextVelocities[at] = velocity;
                nonFinite += nextWeights[at] * 0 + velocity * 0;
            }
        }

        *cpu.NonFiniteSlot(thread) += nonFinite;
    }

    /// <summary>
    /// The step for a block of W whose gradient a kernel has already summed: W[firstRow + r, firstColumn + c] from
    /// <paramref name="sums"/>[r · <paramref name="sumStride"/> + c], masked, with the scalar SGD rule (bit for bit the
    /// vector one, <see cref="UpdateEpilogue.UpdateWeight"/>). For gradients that end as one sum per weight, such as a
    /// convolution's, whose few weights each sum over every position of every sample.
    /// </summary>
    public static void Block<TVector, TOps>(CpuPipeline<TVector, TOps> cpu, CpuWeights weights, float* sums, nint sumStride, int firstRow, int rows, int firstColumn, int columns, int thread)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        float* w = weights.Weights.Pointer, nextWeights = weights.NextWeights.Pointer;
        float* velocities = weights.WeightVelocities.Pointer, nextVelocities = weights.NextWeightVelocities.Pointer;
        float* mask = weights.Mask is null ? null : weights.Mask.Pointer;
        SgdStep sgd = cpu.Sgd;
        float nonFinite = 0;
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < columns; c++)
            {
                nint at = (nint)(firstRow + r) * weights.WeightStride + firstColumn + c;
                float gradient = sums[r * sumStride + c];
                if (mask != null)
                {
                    gradient *= mask[at];
                }

                float velocity = velocities[at];
                nextWeights[at] = sgd.UpdateWeight(w[at], ref velocity, gradient);
                nextVelocities[at] = velocity;
                nonFinite += nextWeights[at] * 0 + velocity * 0;
            }
        }

        *cpu.NonFiniteSlot(thread) += nonFinite;
    }

    /// <summary>
    /// db[o] = Σ over <paramref name="columns"/> of delta[o, :] for rows [start, end), then the step. The delta's
    /// rows are <paramref name="rowStride"/> apart (a dense layer's P; a convolution's positions × P).
    /// </summary>
    public static void Bias<TVector, TOps>(CpuPipeline<TVector, TOps> cpu, CpuWeights weights, float* delta, nint rowStride, int columns, int start, int end, int thread)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        float* bias = weights.Bias.Pointer, nextBias = weights.NextBias.Pointer;
        float* velocities = weights.BiasVelocities.Pointer, nextVelocities = weights.NextBiasVelocities.Pointer;
        SgdStep sgd = cpu.Sgd;
        float nonFinite = 0;
        for (int o = start; o < end; o++)
        {
            float gradient = SumFirst<TVector, TOps>(delta + o * rowStride, columns);
            float velocity = velocities[o];
            nextBias[o] = sgd.UpdateBias(bias[o], ref velocity, gradient);
            nextVelocities[o] = velocity;
            nonFinite += nextBias[o] * 0 + velocity * 0;
        }

        *cpu.NonFiniteSlot(thread) += nonFinite;
    }

    /// <summary>Σ a[j] b[j] over the first <paramref name="count"/> floats: whole vectors, then the remainder.</summary>
    private static float Dot<TVector, TOps>(float* a, float* b, int count)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        int width = TOps.Count;
        TVector sums = default;
        int j = 0;
        for (; j + width <= count; j += width)
        {
            sums = TOps.MultiplyAdd(TOps.Load(a + j), TOps.Load(b + j), sums);
        }

        float sum = TOps.Sum(sums);
        for (; j < count; j++)
        {
            sum += a[j] * b[j];
        }

        return sum;
    }

    /// <summary>The sum of the first <paramref name="count"/> floats: whole vectors, then the remainder.</summary>
    public static float SumFirst<TVector, TOps>(float* values, int count)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        int width = TOps.Count;
        TVector sums = default;
        int i = 0;
        for (; i + width <= count; i += width)
        {
            sums = TOps.Add(sums, TOps.Load(values + i));
        }

        float sum = TOps.Sum(sums);
        for (; i < count; i++)
        {
            sum += values[i];
        }

        return sum;
    }
}
