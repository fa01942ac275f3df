namespace FusedNets.Backends.Cpu;

/// <summary>
/// The per-batch buffers every layer shares, sized for up to <see cref="Capacity"/> samples and replaced only when a
/// larger batch arrives, so steady-state training allocates nothing. Layers keep their own scratch beside it
/// (<see cref="CpuLayer{TVector, TOps}.EnsureCapacity"/>).
/// </summary>
/// <remarks>
/// Values are kept feature-major, (features, P) with P the pass's batch padded to whole vectors (at most the capacity padded): every layer's products
/// vectorize across the batch. Padding samples are zeros at the input and stay finite through every layer.
/// </remarks>
internal sealed class CpuWorkspace
{
    public CpuWorkspace(NetworkArchitecture architecture, int capacity, int width)
    {
        Capacity = capacity;
        int padded = CpuLayout.RoundUp(capacity, width);
        InputColumns = new AlignedBuffer((long)architecture.InputSize * padded);
        InputGradientColumns = new AlignedBuffer((long)architecture.InputSize * padded);
        int layers = architecture.Layers.Length;
        PreActivations = new AlignedBuffer[layers];
        Activations = new AlignedBuffer[layers];
        Deltas = new AlignedBuffer[layers];
        for (int l = 0; l < layers; l++)
        {
            long size = (long)architecture.Layers[l].Units * padded;
            PreActivations[l] = new AlignedBuffer(size);
            Activations[l] = new AlignedBuffer(size);
            Deltas[l] = new AlignedBuffer(size);
        }

        Losses = new float[capacity];
    }

    public int Capacity { get; }

    /// <summary>The inputs, feature-major, (InputSize, P); padding columns zero.</summary>
    public AlignedBuffer InputColumns { get; }

    /// <summary>dL/dx, feature-major, (InputSize, P).</summary>
    public AlignedBuffer InputGradientColumns { get; }

    /// <summary>z per layer, feature-major (Units, P): saved by the forward for the derivatives.</summary>
    public AlignedBuffer[] PreActivations { get; }

    /// <summary>y = f(z) per layer, feature-major (Units, P): the next layer's input and the derivatives' other argument.</summary>
    public AlignedBuffer[] Activations { get; }

    /// <summary>dL/dz per layer, feature-major (Units, P).</summary>
    public AlignedBuffer[] Deltas { get; }

    /// <summary>The per-sample losses of the last batch.</summary>
    public float[] Losses { get; }
}
