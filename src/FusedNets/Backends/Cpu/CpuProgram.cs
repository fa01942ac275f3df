using System.ComponentModel;

namespace FusedNets.Generated;

/// <summary>
/// A network's CPU code: the generator emits one subclass per network, from the same layer model as its
/// declaration, with every activation and the loss a type. <see cref="Backends.Cpu.CpuEngine"/> picks the vector width once and
/// asks for the kernels at that width.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public abstract class CpuProgram
{
    /// <summary>This network's kernels compiled for vectors of <typeparamref name="TVector"/>.</summary>
    public abstract CpuKernels<TVector, TOps> CreateKernels<TVector, TOps>()
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>;
}

/// <summary>
/// One network's schedule at one vector width: per phase and layer, which kind's kernel runs and with which
/// activation (and loss) it is instantiated, so the JIT compiles each call straight into the kernel it names.
/// <see cref="CpuPipeline{TVector, TOps}"/> owns the layers, buffers and threads and calls these phase by phase;
/// each call runs the calling thread's share.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public abstract class CpuKernels<TVector, TOps>
    where TVector : unmanaged
    where TOps : IVectorOps<TVector>
{
    /// <summary>Layer <paramref name="layer"/> for the one sample in flight, with its activation: its kind's <c>Predict</c>.</summary>
    public abstract void Predict(CpuPipeline<TVector, TOps> cpu, int layer, int thread);

    /// <summary>Layer <paramref name="layer"/>'s forward with its activation: its kind's <c>Forward</c>.</summary>
    public abstract void Forward(CpuPipeline<TVector, TOps> cpu, int layer, int thread);

    /// <summary>
    /// Layer <paramref name="layer"/>'s backward data (<paramref name="layer"/> ≥ 1): its kind's <c>Backward</c> with the
    /// activation of the layer below, whose delta it writes.
    /// </summary>
    public abstract void Backward(CpuPipeline<TVector, TOps> cpu, int layer, int thread);

    /// <summary>The loss phase: <see cref="CpuPipeline{TVector, TOps}.Loss{TLoss, TOutput}"/> with the loss and the output layer's activation.</summary>
    public abstract void Loss(CpuPipeline<TVector, TOps> cpu, int thread);
}
