using System.ComponentModel;
using FusedNets.Backends.Cpu;

namespace FusedNets.Generated;

/// <summary>The dense layer's CPU kernels as a generated schedule names them, each with its activation as a type argument.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class DenseCpu
{
    /// <summary>zᵀ = W xᵀ + b, yᵀ = f(zᵀ) for this thread's rows.</summary>
    public static void Forward<TVector, TOps, TActivation>(CpuPipeline<TVector, TOps> cpu, int layer, int thread)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TActivation : struct, IActivationKernel =>
        cpu.Layer<DenseCpuLayer<TVector, TOps>>(layer).ForwardKernel<TActivation>(cpu, thread);

    /// <summary>dzᵀ_below = (Wᵀ dzᵀ) ⊙ f'_below for this thread's rows of the layer below.</summary>
    public static void Backward<TVector, TOps, TBelow>(CpuPipeline<TVector, TOps> cpu, int layer, int thread)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TBelow : struct, IActivationKernel =>
        cpu.Layer<DenseCpuLayer<TVector, TOps>>(layer).BackwardKernel<TBelow>(cpu, thread);

    /// <summary>y = f(W x + b) for the one sample in flight, this thread's panels.</summary>
    public static void Predict<TVector, TOps, TActivation>(CpuPipeline<TVector, TOps> cpu, int layer, int thread)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TActivation : struct, IActivationKernel =>
        cpu.Layer<DenseCpuLayer<TVector, TOps>>(layer).PredictKernel<TActivation>(cpu, thread);
}

/// <summary>
/// The dense layer on the CPU engine: three register-blocked products (<see cref="TileKernel"/>) with their
/// epilogues fused, or the sparse kernels for a mask sparse enough, and the packed matrix-vector product for
/// one sample.
/// <code>
///   forward:   zᵀ = W xᵀ + b, yᵀ = f(zᵀ)                    xᵀ: (Inputs, P), W: (Units, WeightStride), zᵀ, yᵀ: (Units, P)
///   backward:  dzᵀ_below = (Wᵀ dzᵀ) ⊙ f'(z, y)_below        dzᵀ: (Units, P), dzᵀ_below: (Inputs, P)
///   update:    dW = dzᵀ x summed over the batch, then SGD    x sample-major: (Batch, WeightStride)
/// </code>
/// </summary>
internal sealed unsafe class DenseCpuLayer<TVector, TOps> : CpuLayer<TVector, TOps>
    where TVector : unmanaged
    where TOps : IVectorOps<TVector>
{
    private readonly CpuWeights _weights;

    // The weight gradient reads this layer's input sample by sample; the forward of a training pass writes
    // this copy of it (empty when the input is the caller's batch and already has this layout).
    private AlignedBuffer _inputRows = new(0);
    private bool _inputsAreRows;

    public DenseCpuLayer(int index, DenseLayerArchitecture architecture, float[]? mask)
        : base(index, architecture)
    {
        _weights = new CpuWeights(architecture.Units, architecture.Inputs, mask, TOps.Count);
    }

    public override CpuWeights Weights => _weights;

    public override void EnsureCapacity(int capacity, int stride)
    {
        // The first layer's update reads the caller's batch where it lies when its rows have no padding.
        _inputsAreRows = Index == 0 && _weights.WeightStride == _weights.Inputs;
        _inputRows = _weights.Sparse is not null || _inputsAreRows
            ? new AlignedBuffer(0)
            : new AlignedBuffer((long)capacity * _weights.WeightStride);
    }

    // ---- Forward ----
    // xᵀ: (Inputs, P), W: (Units, WeightStride), zᵀ and yᵀ: (Units, P)

    public override void Forward<TActivation>(CpuPipeline<TVector, TOps> cpu, int thread) => ForwardKernel<TActivation>(cpu, thread);

    public void ForwardKernel<TActivation>(CpuPipeline<TVector, TOps> cpu, int thread)
        where TActivation : struct, IActivationKernel
    {
        if (cpu.Training && _weights.Sparse is null)
        {
            CopyInputRows(cpu, thread);
        }

        (int start, int end) = cpu.ShareRows(_weights.Units, thread);
        CpuWorkspace workspace = cpu.Workspace;
        var epilogue = new ForwardEpilogue<TActivation>(_weights.Bias.Pointer, workspace.PreActivations[Index].Pointer, workspace.Activations[Index].Pointer, cpu.Stride);
        ForwardProduct(cpu, _weights.Weights.Pointer, cpu.InputOf(Index), start, end, ref epilogue);
    }

    // z[o, :] = Σ_i W[o, i] xᵀ[i, :] for rows [start, end): A = the weights read along their rows (W, or |W| in W's layout), B = xᵀ.
    private void ForwardProduct<TEpilogue>(CpuPipeline<TVector, TOps> cpu, float* weights, float* input, int start, int end, ref TEpilogue epilogue)
        where TEpilogue : struct, ITileEpilogue
    {
        int stride = cpu.Stride;
        if (_weights.Sparse is { } sparse)
        {
            SparseKernel.Product<TVector, TOps, TEpilogue>(
                sparse.RowStarts, sparse.Columns, weights, _weights.WeightStride, 1, input, stride, start, end, stride / TOps.Count, ref epilogue);
            return;
        }

        var operands = new ProductOperands(weights, _weights.WeightStride, 1, input, stride, _weights.Inputs);
        TileKernel.Product<TVector, TOps, TEpilogue>(operands, start, end, stride / TOps.Count, ref epilogue);
    }

    /// <summary>
    /// This thread's share of the sample-major copy of the input that the weight gradient reads: the previous layer's
    /// y transposed (each thread the rows it wrote in the previous phase), or the first layer's batch copied into
    /// padded rows.
    /// </summary>
    private void CopyInputRows(CpuPipeline<TVector, TOps> cpu, int thread)
    {
        nint rowStride = _weights.WeightStride;
        if (Index > 0)
        {
            (int start, int end) = cpu.ShareRows(_weights.Inputs, thread);
            Transposes.Transpose(cpu.InputOf(Index) + start * cpu.Stride, cpu.Stride, _inputRows.Pointer + start, rowStride, end - start, cpu.Batch);
        }
        else if (!_inputsAreRows)
        {
            (int firstSample, int endSample) = cpu.Share(cpu.Batch, 1, thread);
            int inputs = _weights.Inputs;
            for (int sample = firstSample; sample < endSample; sample++)
            {
                new ReadOnlySpan<float>(cpu.Inputs + sample * inputs, inputs).CopyTo(new Span<float>(_inputRows.Pointer + sample * rowStride, inputs));
            }
        }
    }

    // ---- Backward data ----
    // Forward: z = W x + b with x = f(z_below).
    // dL/dx = Wᵀ delta;  delta_below = dL/dx ⊙ f'(z_below, y_below).  dxᵀ: (Inputs, P)

    public override void Backward<TBelow>(CpuPipeline<TVector, TOps> cpu, int thread) => BackwardKernel<TBelow>(cpu, thread);

    public void BackwardKernel<TBelow>(CpuPipeline<TVector, TOps> cpu, int thread)
        where TBelow : struct, IActivationKernel
    {
        CpuWorkspace workspace = cpu.Workspace;
        var epilogue = new BackwardEpilogue<TBelow>(workspace.PreActivations[Index - 1].Pointer, workspace.Activations[Index - 1].Pointer, workspace.Deltas[Index - 1].Pointer, cpu.Stride);
        BackwardProduct(cpu, thread, _weights.Weights.Pointer, workspace.Deltas[Index].Pointer, ref epilogue);
    }

    public override void BackwardToInputs(CpuPipeline<TVector, TOps> cpu, int thread)
    {
        var epilogue = new StoreEpilogue(cpu.Workspace.InputGradientColumns.Pointer, cpu.Stride);
        BackwardProduct(cpu, thread, _weights.Weights.Pointer, cpu.Workspace.Deltas[Index].Pointer, ref epilogue);
    }

    // dxᵀ[i, :] = Σ_o W[o, i] deltaᵀ[o, :]: A = the weights (W, or |W|) read down their columns, B = deltaᵀ.
    private void BackwardProduct<TEpilogue>(CpuPipeline<TVector, TOps> cpu, int thread, float* weights, float* delta, ref TEpilogue epilogue)
        where TEpilogue : struct, ITileEpilogue
    {
        (int start, int end) = cpu.ShareRows(_weights.Inputs, thread);
        int stride = cpu.Stride;
        if (_weights.Sparse is { } sparse)
        {
            SparseKernel.Product<TVector, TOps, TEpilogue>(
                sparse.ColumnStarts, sparse.Rows, weights, 1, _weights.WeightStride, delta, stride, start, end, stride / TOps.Count, ref epilogue);
            return;
        }

        var operands = new ProductOperands(weights, 1, _weights.WeightStride, delta, stride, _weights.Units);
        TileKernel.Product<TVector, TOps, TEpilogue>(operands, start, end, stride / TOps.Count, ref epilogue);
    }

    // ---- Weight gradient and SGD step ----
    // Forward: z = W x + b.  dW = deltaᵀ x (summed over the batch),  db = Σ_b delta
    // dW: (Units, WeightStride), consumed tile by tile by the update; x sample-major (Batch, WeightStride).

    public override void Update(CpuPipeline<TVector, TOps> cpu, int thread)
    {
        (int start, int end) = cpu.ShareRows(_weights.Units, thread);
        float* delta = cpu.Workspace.Deltas[Index].Pointer;
        if (_weights.Sparse is { } sparse)
        {
            CpuUpdates.Sparse(cpu, _weights, sparse, cpu.InputOf(Index), delta, start, end, thread);
        }
        else
        {
            float* inputRows = _inputsAreRows ? cpu.Inputs : _inputRows.Pointer;
            CpuUpdates.Dense(cpu, _weights, delta, cpu.Stride, inputRows, cpu.Batch, start, end, thread);
        }

        CpuUpdates.Bias(cpu, _weights, delta, cpu.Stride, cpu.Batch, start, end, thread);
    }

    // ---- Interval bound propagation ----
    // c, r: (Inputs, P), the center and radius of x's bounds; |W| in W's layout.
    // Forward:  μ = W c + b, ρ = |W| r (+ the margin when sound); z in [μ − ρ, μ + ρ]; y's bounds by f's interval rule.
    // Backward: dc = Wᵀ dμ, dr = |W|ᵀ dρ; dlower = (dc − dr) / 2, dupper = (dc + dr) / 2 of x, through f_below's rule.
    // Gradient: dW = dμ cᵀ + sign(W) ⊙ dρ rᵀ, db = Σ_b dμ, with c and r sample-major (Batch, WeightStride).

    // What the gradient reads: c and r sample-major, written by the training interval forward.
    private AlignedBuffer _centerRows = new(0), _radiusRows = new(0);

    public override void EnsureIntervalCapacity(int capacity, int stride, bool training)
    {
        _centerRows = new AlignedBuffer(training ? (long)capacity * _weights.WeightStride : 0);
        _radiusRows = new AlignedBuffer(training ? (long)capacity * _weights.WeightStride : 0);
    }

    public override void IntervalForward<TActivation>(CpuPipeline<TVector, TOps> cpu, int thread)
    {
        CpuIntervalWorkspace intervals = cpu.Intervals;
        float* center = intervals.Center[Index].Pointer, radius = intervals.Radius[Index].Pointer;
        if (cpu.IntervalTraining)
        {
            // Each thread the rows of c and r it owns, as CopyInputRows does for x.
            (int first, int last) = cpu.ShareRows(_weights.Inputs, thread);
            Transposes.Transpose(center + first * cpu.Stride, cpu.Stride, _centerRows.Pointer + first, _weights.WeightStride, last - first, cpu.Batch);
            Transposes.Transpose(radius + first * cpu.Stride, cpu.Stride, _radiusRows.Pointer + first, _weights.WeightStride, last - first, cpu.Batch);
        }

        (int start, int end) = cpu.ShareRows(_weights.Units, thread);
        float* zLower = intervals.ZLower[Index].Pointer;
        var centers = new BiasEpilogue(_weights.Bias.Pointer, zLower, cpu.Stride);
        ForwardProduct(cpu, _weights.Weights.Pointer, center, start, end, ref centers);
        var bounds = new IntervalEpilogue<TActivation>(
            zLower, intervals.ZUpper[Index].Pointer, intervals.Lower[Index].Pointer, intervals.Upper[Index].Pointer, cpu.Stride,
            sound: !cpu.IntervalTraining, _weights.Bias.Pointer, intervals.RowAbsoluteSums[Index].Pointer, intervals.Magnitudes[Index].Pointer, cpu.Stride, _weights.Inputs);
        ForwardProduct(cpu, intervals.AbsoluteWeights[Index].Pointer, radius, start, end, ref bounds);
    }

    public override void IntervalBackward<TBelow>(CpuPipeline<TVector, TOps> cpu, int thread)
    {
        CpuIntervalWorkspace intervals = cpu.Intervals;
        float* centerGradients = intervals.FirstScratch.Pointer;
        var centers = new StoreEpilogue(centerGradients, cpu.Stride);
        BackwardProduct(cpu, thread, _weights.Weights.Pointer, intervals.CenterGradients[Index].Pointer, ref centers);
        var below = new IntervalBackwardEpilogue<TBelow>(
            centerGradients, intervals.ZLower[Index - 1].Pointer, intervals.ZUpper[Index - 1].Pointer,
            intervals.CenterGradients[Index - 1].Pointer, intervals.RadiusGradients[Index - 1].Pointer, cpu.Stride);
        BackwardProduct(cpu, thread, intervals.AbsoluteWeights[Index].Pointer, intervals.RadiusGradients[Index].Pointer, ref below);
    }

    public override void IntervalGradient(CpuPipeline<TVector, TOps> cpu, int thread)
    {
        CpuIntervalWorkspace intervals = cpu.Intervals;
        (int start, int end) = cpu.ShareRows(_weights.Units, thread);
        float* gradients = intervals.WeightGradients[Index].Pointer, centerGradients = intervals.CenterGradients[Index].Pointer;
        int columns = _weights.WeightStride / TOps.Count;
        var centers = new StoreEpilogue(gradients, _weights.WeightStride);
        TileKernel.ProductByRows<TVector, TOps, StoreEpilogue>(
            new ProductOperands(centerGradients, cpu.Stride, 1, _centerRows.Pointer, _weights.WeightStride, cpu.Batch), start, end, columns, ref centers);
        var radii = new SignedAddEpilogue(gradients, _weights.Weights.Pointer, _weights.WeightStride);
        TileKernel.ProductByRows<TVector, TOps, SignedAddEpilogue>(
            new ProductOperands(intervals.RadiusGradients[Index].Pointer, cpu.Stride, 1, _radiusRows.Pointer, _weights.WeightStride, cpu.Batch), start, end, columns, ref radii);
        for (int row = start; row < end; row++)
        {
            intervals.BiasGradients[Index].Pointer[row] = CpuUpdates.SumFirst<TVector, TOps>(centerGradients + row * cpu.Stride, cpu.Batch);
        }
    }

    // ---- One sample ----

    /// <summary>Repacks W into the single-sample panels after it changed (see <see cref="MatrixVector"/>).</summary>
    public override void PrepareToPredict()
    {
        if (_weights.PredictPanelsStale)
        {
            MatrixVector.Pack(_weights.Weights.Pointer, _weights.WeightStride, _weights.Units, _weights.Inputs, TOps.Count, _weights.PredictPanels.Pointer);
            _weights.PredictPanelsStale = false;
        }
    }

    public override void Predict<TActivation>(CpuPipeline<TVector, TOps> cpu, int thread) => PredictKernel<TActivation>(cpu, thread);

    public void PredictKernel<TActivation>(CpuPipeline<TVector, TOps> cpu, int thread)
        where TActivation : struct, IActivationKernel
    {
        (int firstPanel, int endPanel) = cpu.Share(MatrixVector.Panels(_weights.Units, TOps.Count), 1, thread);
        MatrixVector.Forward<TVector, TOps, TActivation>(
            _weights.PredictPanels.Pointer, _weights.Bias.Pointer, cpu.SingleSampleInput(Index), cpu.SingleSampleOutput(Index), _weights.Inputs, _weights.Units, firstPanel, endPanel);
    }
}
