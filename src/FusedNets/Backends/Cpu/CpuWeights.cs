namespace FusedNets.Backends.Cpu;

/// <summary>
/// A layer's weight matrix and bias as the CPU kernels keep them: W row-major [Units, WeightStride], each row
/// padded with zeros to whole vectors so every kernel reads full vectors; the bias, the optimizer's state in the same
/// layout (the moments: SGD's velocity or Adam's first moment, and Adam's second moment), and the mask (1 = trains)
/// for a masked layer. A dense layer's W is its [units, inputs]
/// matrix; a convolution's is its [filters, channels · kernel · kernel] matrix, the same numbers as PyTorch's
/// [filters, channels, kernel, kernel] tensor.
/// </summary>
/// <remarks>
/// Padding weights stay exactly zero: the inputs they multiply are zero padding too, so their gradient,
/// moments and weight decay are all zero.
/// <para>
/// Parameters and moments are double-buffered: a training step reads the current buffers and writes the
/// next ones, and <see cref="Flip"/> makes the step's result current only once the whole step is known to be
/// finite. A diverged step is thereby dropped without a copy or an extra pass over memory. The second moments
/// exist only once a rule that keeps them (Adam) has asked for them (<see cref="EnsureSecondMoments"/>).
/// </para>
/// </remarks>
internal sealed unsafe class CpuWeights
{
    /// <param name="units">Rows of W: a dense layer's outputs, a convolution's filters.</param>
    /// <param name="inputs">Columns of W: a dense layer's inputs, a convolution's channels × kernel × kernel.</param>
    /// <param name="mask">1s and 0s in the flat layout of W, or null.</param>
    /// <param name="width">Floats per vector.</param>
    public CpuWeights(int units, int inputs, float[]? mask, int width)
    {
        Units = units;
        Inputs = inputs;
        WeightStride = CpuLayout.PaddedStride(Inputs, width);
        Weights = new AlignedBuffer((long)Units * WeightStride);
        WeightMoments = new AlignedBuffer(Weights.Length);
        Bias = new AlignedBuffer(CpuLayout.RoundUp(Units, width));
        BiasMoments = new AlignedBuffer(Bias.Length);
        NextWeights = new AlignedBuffer(Weights.Length);
        NextWeightMoments = new AlignedBuffer(Weights.Length);
        NextBias = new AlignedBuffer(Bias.Length);
        NextBiasMoments = new AlignedBuffer(Bias.Length);
        PredictPanels = new AlignedBuffer(MatrixVector.PackedLength(Units, Inputs, width));
        SetMask(mask);
    }

    public int Units { get; }

    public int Inputs { get; }

    /// <summary>Floats between the starts of two rows of W: <see cref="Inputs"/> rounded up to whole vectors (see <see cref="CpuLayout.PaddedStride"/>).</summary>
    public int WeightStride { get; }

    public AlignedBuffer Weights { get; private set; }

    /// <summary>The first moment of W: SGD's velocity, Adam's m (exp_avg).</summary>
    public AlignedBuffer WeightMoments { get; private set; }

    public AlignedBuffer Bias { get; private set; }

    public AlignedBuffer BiasMoments { get; private set; }

    /// <summary>Where a training step writes W; current after <see cref="Flip"/>. Masked and padding weights are zero in both.</summary>
    public AlignedBuffer NextWeights { get; private set; }

    public AlignedBuffer NextWeightMoments { get; private set; }

    public AlignedBuffer NextBias { get; private set; }

    public AlignedBuffer NextBiasMoments { get; private set; }

    /// <summary>The second moment of W, Adam's v (exp_avg_sq); empty until <see cref="EnsureSecondMoments"/>.</summary>
    public AlignedBuffer WeightSecondMoments { get; private set; } = new(0);

    public AlignedBuffer BiasSecondMoments { get; private set; } = new(0);

    public AlignedBuffer NextWeightSecondMoments { get; private set; } = new(0);

    public AlignedBuffer NextBiasSecondMoments { get; private set; } = new(0);

    /// <summary>Whether the second moments exist.</summary>
    public bool HasSecondMoments => WeightSecondMoments.Length > 0;

    /// <summary>1 where a weight trains, 0 where it is fixed at zero; null for a dense layer.</summary>
    public AlignedBuffer? Mask { get; private set; }

    /// <summary>The kept weights' indices, for a mask sparse enough that the sparse kernels win; else null.</summary>
    public SparseStructure? Sparse { get; private set; }

    /// <summary>The blocks of a block-diagonal mask (an ensemble's), which the dense tiles then run one by one; else null.</summary>
    public BlockStructure? Blocks { get; private set; }

    /// <summary>
    /// A copy of W for single-sample prediction, packed input-major (see <see cref="MatrixVector"/>); valid
    /// while <see cref="PredictPanelsStale"/> is false, repacked by the next single-sample call after W changes.
    /// </summary>
    public AlignedBuffer PredictPanels { get; }

    public bool PredictPanelsStale { get; set; } = true;

    /// <summary>The bytes an SGD step streams through: W, its velocity, and the next two.</summary>
    public long Bytes => 4L * sizeof(float) * WeightStride * Units;

    /// <summary>Allocates the second moments, zero, unless they exist: on the caller's thread, before the first step that keeps them.</summary>
    public void EnsureSecondMoments()
    {
        if (!HasSecondMoments)
        {
            WeightSecondMoments = new AlignedBuffer(Weights.Length);
            NextWeightSecondMoments = new AlignedBuffer(Weights.Length);
            BiasSecondMoments = new AlignedBuffer(Bias.Length);
            NextBiasSecondMoments = new AlignedBuffer(Bias.Length);
        }
    }

    /// <summary>
    /// Makes the buffers the last training step wrote the current ones: parameters and moments, and the second moments
    /// when its rule wrote them (<paramref name="secondMoments"/>; else their current buffers are still the current ones).
    /// </summary>
    public void Flip(bool secondMoments)
    {
        PredictPanelsStale = true;
        (Weights, NextWeights) = (NextWeights, Weights);
        (WeightMoments, NextWeightMoments) = (NextWeightMoments, WeightMoments);
        (Bias, NextBias) = (NextBias, Bias);
        (BiasMoments, NextBiasMoments) = (NextBiasMoments, BiasMoments);
        if (secondMoments)
        {
            (WeightSecondMoments, NextWeightSecondMoments) = (NextWeightSecondMoments, WeightSecondMoments);
            (BiasSecondMoments, NextBiasSecondMoments) = (NextBiasSecondMoments, BiasSecondMoments);
        }
    }

    /// <summary>
    /// Replaces the mask (null: every weight trains), as pruning does between steps, and zeroes the weights and
    /// velocities it drops in both buffers of each: the sparse update writes only kept weights, so a dropped weight
    /// left in the next buffer would come back at the next flip.
    /// </summary>
    public void SetMask(float[]? mask)
    {
        PredictPanelsStale = true;
        if (mask is null)
        {
            Mask = null;
            Sparse = null;
            Blocks = null;
            return;
        }

        // Padding stays zero: rows are copied over their first Inputs floats only.
        Mask ??= new AlignedBuffer(Weights.Length);
        CopyRows(mask, Mask.Pointer);
        Blocks = BlockStructure.TryCreate(mask, Units, Inputs);
        Sparse = Blocks is null ? SparseStructure.TryCreate(mask, Units, Inputs) : null;
        ReadOnlySpan<float> keep = Mask.AsSpan();
        foreach (AlignedBuffer buffer in (ReadOnlySpan<AlignedBuffer>)[Weights, WeightMoments, NextWeights, NextWeightMoments, WeightSecondMoments, NextWeightSecondMoments])
        {
            Span<float> values = buffer.AsSpan();
            for (int i = 0; i < values.Length; i++)
            {
                values[i] *= keep[i];
            }
        }
    }

    /// <summary>Reads this layer's weights then bias from the flat layout (<see cref="NetworkArchitecture"/>).</summary>
    public void Read(ReadOnlySpan<float> flat, AlignedBuffer weights, AlignedBuffer bias)
    {
        PredictPanelsStale = true;
        CopyRows(flat[..(Units * Inputs)], weights.Pointer);
        flat.Slice(Units * Inputs, Units).CopyTo(bias.AsSpan());
    }

    /// <summary>Writes this layer's weights then bias in the flat layout.</summary>
    public void Write(AlignedBuffer weights, AlignedBuffer bias, Span<float> flat)
    {
        for (int row = 0; row < Units; row++)
        {
            new ReadOnlySpan<float>(weights.Pointer + (long)row * WeightStride, Inputs).CopyTo(flat.Slice(row * Inputs, Inputs));
        }

        bias.AsSpan()[..Units].CopyTo(flat.Slice(Units * Inputs, Units));
    }

    private void CopyRows(ReadOnlySpan<float> rows, float* destination)
    {
        for (int row = 0; row < Units; row++)
        {
            rows.Slice(row * Inputs, Inputs).CopyTo(new Span<float>(destination + (long)row * WeightStride, Inputs));
        }
    }
}
