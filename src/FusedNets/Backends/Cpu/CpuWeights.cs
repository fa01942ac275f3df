namespace FusedNets.Backends.Cpu;

/// <summary>
/// A layer's weight matrix and bias as the CPU kernels keep them: W row-major [Units, WeightStride], each row
/// padded with zeros to whole vectors so every kernel reads full vectors; the bias, the momentum buffers in
/// the same layout, and the mask (1 = trains) for a masked layer. A dense layer's W is its [units, inputs]
/// matrix; a convolution's is its [filters, channels · kernel · kernel] matrix, the same numbers as PyTorch's
/// [filters, channels, kernel, kernel] tensor.
/// </summary>
/// <remarks>
/// Padding weights stay exactly zero: the inputs they multiply are zero padding too, so their gradient,
/// velocity and weight decay are all zero.
/// <para>
/// Parameters and momentum are double-buffered: a training step reads the current buffers and writes the
/// next ones, and <see cref="Flip"/> makes the step's result current only once the whole step is known to be
/// finite. A diverged step is thereby dropped without a copy or an extra pass over memory.
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
        WeightVelocities = new AlignedBuffer(Weights.Length);
        Bias = new AlignedBuffer(CpuLayout.RoundUp(Units, width));
        BiasVelocities = new AlignedBuffer(Bias.Length);
        NextWeights = new AlignedBuffer(Weights.Length);
        NextWeightVelocities = new AlignedBuffer(Weights.Length);
        NextBias = new AlignedBuffer(Bias.Length);
        NextBiasVelocities = new AlignedBuffer(Bias.Length);
        PredictPanels = new AlignedBuffer(MatrixVector.PackedLength(Units, Inputs, width));
        SetMask(mask);
    }

    public int Units { get; }

    public int Inputs { get; }

    /// <summary>Floats between the starts of two rows of W: <see cref="Inputs"/> rounded up to whole vectors (see <see cref="CpuLayout.PaddedStride"/>).</summary>
    public int WeightStride { get; }

    public AlignedBuffer Weights { get; private set; }

    public AlignedBuffer WeightVelocities { get; private set; }

    public AlignedBuffer Bias { get; private set; }

    public AlignedBuffer BiasVelocities { get; private set; }

    /// <summary>Where a training step writes W; current after <see cref="Flip"/>. Masked and padding weights are zero in both.</summary>
    public AlignedBuffer NextWeights { get; private set; }

    public AlignedBuffer NextWeightVelocities { get; private set; }

    public AlignedBuffer NextBias { get; private set; }

    public AlignedBuffer NextBiasVelocities { get; private set; }

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

    /// <summary>The bytes a training step streams through: W, its velocity, and the next two.</summary>
    public long Bytes => 4L * sizeof(float) * WeightStride * Units;

    /// <summary>Makes the buffers the last training step wrote the current ones.</summary>
    public void Flip()
    {
        PredictPanelsStale = true;
        (Weights, NextWeights) = (NextWeights, Weights);
        (WeightVelocities, NextWeightVelocities) = (NextWeightVelocities, WeightVelocities);
        (Bias, NextBias) = (NextBias, Bias);
        (BiasVelocities, NextBiasVelocities) = (NextBiasVelocities, BiasVelocities);
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
        foreach (AlignedBuffer buffer in (ReadOnlySpan<AlignedBuffer>)[Weights, WeightVelocities, NextWeights, NextWeightVelocities])
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
