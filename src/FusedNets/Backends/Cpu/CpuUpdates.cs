using FusedNets.Generated;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace FusedNets.Backends.Cpu;

/// <summary>
/// The optimizer step of a weight matrix and its bias, fused with the gradient: the weight gradient is a product
/// whose tiles go straight from registers into the update (<see cref="UpdateEpilogue{TRule}"/>), so it never round-trips
/// through memory. Every layer with parameters calls these with the product that is its weight gradient, and with the
/// step's rule (<see cref="IUpdateRule"/>) as a type argument, so each rule compiles into its own loops.
/// </summary>
internal static unsafe class CpuUpdates
{
    /// <summary>
    /// dW[o, i] = Σ_k A[o, k] B[k, i] for rows [start, end) of W, then the step: A is the layer's delta, rows
    /// <paramref name="aRowStride"/> apart, B its input sample-major with rows W's stride apart, k over <paramref name="depth"/>.
    /// </summary>
    public static void Dense<TVector, TOps, TRule>(CpuPipeline<TVector, TOps> cpu, CpuWeights weights, in TRule rule, float* a, nint aRowStride, float* b, int depth, int start, int end, int thread)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TRule : struct, IUpdateRule =>
        DenseColumns(cpu, weights, rule, a, aRowStride, b, depth, start, end, 0, weights.WeightStride, thread);

    /// <summary>
    /// <see cref="Dense"/> for columns [<paramref name="firstColumn"/>, <paramref name="endColumn"/>) of W alone, both
    /// multiples of the vector width: one block of a block-diagonal layer (<see cref="BlockStructure"/>). The columns of
    /// neighbouring blocks that its first and last vectors reach are masked in these rows, so they stay zero.
    /// </summary>
    public static void DenseColumns<TVector, TOps, TRule>(CpuPipeline<TVector, TOps> cpu, CpuWeights weights, in TRule rule, float* a, nint aRowStride, float* b, int depth, int start, int end, int firstColumn, int endColumn, int thread)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TRule : struct, IUpdateRule
    {
        var operands = new ProductOperands(a, aRowStride, 1, b + firstColumn, weights.WeightStride, depth);
        var epilogue = new UpdateEpilogue<TRule>(weights, cpu.NonFiniteSlot(thread), rule, cpu.StreamingUpdates, firstColumn);
        TileKernel.ProductByRows<TVector, TOps, UpdateEpilogue<TRule>>(operands, start, end, (endColumn - firstColumn) / TOps.Count, ref epilogue);
        if (cpu.StreamingUpdates && Sse.IsSupported)
        {
            Sse.StoreFence(); // streaming stores are weakly ordered: make them visible before the barrier releases the readers
        }
    }

    /// <summary>
    /// dW[o, i] = Σ_b deltaᵀ[o, b] xᵀ[i, b] for kept weights only, each a dot product of two feature-major
    /// rows, then the scalar rule. Masked weights are never visited, so they stay exactly zero in every buffer.
    /// </summary>
    public static void Sparse<TVector, TOps, TRule>(CpuPipeline<TVector, TOps> cpu, CpuWeights weights, in TRule rule, SparseStructure sparse, float* inputColumns, float* delta, int start, int end, int thread)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TRule : struct, IUpdateRule
    {
        var state = new ScalarState<TRule>(rule, weights.Weights, weights.WeightMoments, weights.WeightSecondMoments, weights.NextWeights, weights.NextWeightMoments, weights.NextWeightSecondMoments);
        nint stride = cpu.Stride;
        float nonFinite = 0;
        for (int o = start; o < end; o++)
        {
            float* deltaRow = delta + o * stride;
            for (int k = sparse.RowStarts[o]; k < sparse.RowStarts[o + 1]; k++)
            {
                int i = sparse.Columns[k];
                float gradient = Dot<TVector, TOps>(deltaRow, inputColumns + i * stride, cpu.Batch);
                nonFinite += state.UpdateWeight(o * weights.WeightStride + i, gradient);
            }
        }

        *cpu.NonFiniteSlot(thread) += nonFinite;
    }

    /// <summary>
    /// The step for a block of W whose gradient a kernel has already summed: W[firstRow + r, firstColumn + c] from
    /// <paramref name="sums"/>[r · <paramref name="sumStride"/> + c], masked, with the scalar rule (bit for bit the
    /// vector one, <see cref="IUpdateRule"/>). For gradients that end as one sum per weight, such as a convolution's,
    /// whose few weights each sum over every position of every sample.
    /// </summary>
    public static void Block<TVector, TOps, TRule>(CpuPipeline<TVector, TOps> cpu, CpuWeights weights, in TRule rule, float* sums, nint sumStride, int firstRow, int rows, int firstColumn, int columns, int thread)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TRule : struct, IUpdateRule
    {
        var state = new ScalarState<TRule>(rule, weights.Weights, weights.WeightMoments, weights.WeightSecondMoments, weights.NextWeights, weights.NextWeightMoments, weights.NextWeightSecondMoments);
        float* mask = weights.Mask is null ? null : weights.Mask.Pointer;
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

                nonFinite += state.UpdateWeight(at, gradient);
            }
        }

        *cpu.NonFiniteSlot(thread) += nonFinite;
    }

    /// <summary>
    /// db[o] = Σ over <paramref name="columns"/> of delta[o, :] for rows [start, end), then the step. The delta's
    /// rows are <paramref name="rowStride"/> apart (a dense layer's P; a convolution's positions × P).
    /// </summary>
    public static void Bias<TVector, TOps, TRule>(CpuPipeline<TVector, TOps> cpu, CpuWeights weights, in TRule rule, float* delta, nint rowStride, int columns, int start, int end, int thread)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TRule : struct, IUpdateRule
    {
        var state = new ScalarState<TRule>(rule, weights.Bias, weights.BiasMoments, weights.BiasSecondMoments, weights.NextBias, weights.NextBiasMoments, weights.NextBiasSecondMoments);
        float nonFinite = 0;
        for (int o = start; o < end; o++)
        {
            nonFinite += state.UpdateBias(o, SumFirst<TVector, TOps>(delta + o * rowStride, columns));
        }

        *cpu.NonFiniteSlot(thread) += nonFinite;
    }

    /// <summary>
    /// A parameter tensor's current and next buffers with the step's rule, for the scalar updates; the second moments are
    /// touched only where the rule keeps them. Mutable so that calling the rule copies nothing: a call on a field of
    /// unknown readonly-ness through a readonly receiver would copy the rule each time.
    /// </summary>
    internal struct ScalarState<TRule>(TRule rule, AlignedBuffer values, AlignedBuffer moments, AlignedBuffer secondMoments, AlignedBuffer nextValues, AlignedBuffer nextMoments, AlignedBuffer nextSecondMoments)
        where TRule : struct, IUpdateRule
    {
        private TRule _rule = rule;
        private readonly float* _values = values.Pointer, _moments = moments.Pointer, _secondMoments = secondMoments.Pointer;
        private readonly float* _nextValues = nextValues.Pointer, _nextMoments = nextMoments.Pointer, _nextSecondMoments = nextSecondMoments.Pointer;

        /// <summary>Steps the weight at <paramref name="at"/>; returns 0 when its new value and state are finite, else NaN.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float UpdateWeight(nint at, float gradient)
        {
            float moment = _moments[at], secondMoment = TRule.HasSecondMoment ? _secondMoments[at] : 0;
            return Store(at, _rule.UpdateWeight(_values[at], ref moment, ref secondMoment, gradient), moment, secondMoment);
        }

        /// <summary>Steps the bias at <paramref name="at"/>; returns 0 when its new value and state are finite, else NaN.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float UpdateBias(nint at, float gradient)
        {
            float moment = _moments[at], secondMoment = TRule.HasSecondMoment ? _secondMoments[at] : 0;
            return Store(at, _rule.UpdateBias(_values[at], ref moment, ref secondMoment, gradient), moment, secondMoment);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private readonly float Store(nint at, float value, float moment, float secondMoment)
        {
            _nextValues[at] = value;
            _nextMoments[at] = moment;
            if (TRule.HasSecondMoment)
            {
                _nextSecondMoments[at] = secondMoment;
            }

            return value * 0 + moment * 0 + secondMoment * 0;
        }
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
