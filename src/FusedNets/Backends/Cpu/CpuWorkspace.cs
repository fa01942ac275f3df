namespace FusedNets.Backends.Cpu;

/// <summary>
/// Every per-batch buffer, sized for up to <see cref="Capacity"/> samples and replaced only when a larger
/// batch arrives, so steady-state training allocates nothing.
/// </summary>
/// <remarks>
/// Activations are kept feature-major, (features, P) with P the batch padded to whole vectors: the forward
/// and the backward-data products vectorize across the batch. The weight gradient instead needs each
/// layer's input sample-major, (batch, features), so the forward also writes a sample-major copy of every
/// activation that is another layer's input; the transposition costs one pass over the activations, a
/// small fraction of the product that reads them.
/// </remarks>
internal sealed class CpuWorkspace
{
    // Parameters above this many bytes, four buffers of them (W, V and the next two), do not stay in the last
    // level cache from one step to the next: the update then writes its next buffers with streaming stores,
    // which skip reading each line before overwriting it. Below it they would push the parameters out to
    // memory for nothing. Measured on Zen 5 (32 MB L3): the update phase 10 % faster at 30 MB
    // (784-1024-1024-10), the step 8 % slower at 2 MB (784-128-128-10), no clear change at 11 MB
    // (784-512-512-10), which stays below the line.
    private const long StreamingUpdateBytes = 16L << 20;

    public CpuWorkspace(IReadOnlyList<CpuLayer> layers, int inputSize, int capacity, int width)
    {
        Capacity = capacity;
        int padded = CpuLayer.RoundUp(capacity, width);
        InputColumns = new AlignedBuffer((long)inputSize * padded);
        InputsAreRows = layers[0].WeightStride == inputSize;
        InputRows = new AlignedBuffer(InputsAreRows ? 0 : (long)capacity * layers[0].WeightStride);
        InputGradientColumns = new AlignedBuffer((long)inputSize * padded);
        PreActivations = new AlignedBuffer[layers.Count];
        Activations = new AlignedBuffer[layers.Count];
        Deltas = new AlignedBuffer[layers.Count];
        ActivationRows = new AlignedBuffer[layers.Count - 1];
        for (int l = 0; l < layers.Count; l++)
        {
            long size = (long)layers[l].Units * padded;
            PreActivations[l] = new AlignedBuffer(size);
            Activations[l] = new AlignedBuffer(size);
            Deltas[l] = new AlignedBuffer(size);
            if (l < layers.Count - 1)
            {
                ActivationRows[l] = new AlignedBuffer((long)capacity * layers[l + 1].WeightStride);
            }
        }

        Losses = new float[capacity];
        long parameterBytes = 0;
        foreach (CpuLayer layer in layers)
        {
            parameterBytes += 4L * sizeof(float) * layer.WeightStride * layer.Units;
        }

        StreamingUpdates = parameterBytes > StreamingUpdateBytes;
    }

    public int Capacity { get; }

    /// <summary>The inputs, feature-major, (InputSize, P); padding columns zero.</summary>
    public AlignedBuffer InputColumns { get; }

    /// <summary>
    /// Whether the caller's batch already has the layout of <see cref="InputRows"/> (no padding at the end of
    /// a row), so the first layer's weight gradient reads it where it lies and InputRows stays empty.
    /// </summary>
    public bool InputsAreRows { get; }

    /// <summary>The inputs, sample-major, (batch, first layer's WeightStride); padding zero. Empty if <see cref="InputsAreRows"/>.</summary>
    public AlignedBuffer InputRows { get; }

    /// <summary>dL/dx, feature-major, (InputSize, P).</summary>
    public AlignedBuffer InputGradientColumns { get; }

    /// <summary>z per layer, feature-major (Units, P): saved by the forward for the derivatives.</summary>
    public AlignedBuffer[] PreActivations { get; }

    /// <summary>y = f(z) per layer, feature-major (Units, P): the next layer's input and the derivatives' other argument.</summary>
    public AlignedBuffer[] Activations { get; }

    /// <summary>dL/dz per layer, feature-major (Units, P).</summary>
    public AlignedBuffer[] Deltas { get; }

    /// <summary>y per layer but the last, sample-major (batch, next layer's WeightStride): the weight gradient's input.</summary>
    public AlignedBuffer[] ActivationRows { get; }

    /// <summary>The per-sample losses of the last batch.</summary>
    public float[] Losses { get; }

    /// <summary>Whether the weight update writes the next parameter buffers with streaming stores (see <see cref="StreamingUpdateBytes"/>).</summary>
    public bool StreamingUpdates { get; }
}
