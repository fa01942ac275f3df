using FusedNets.Generated;

namespace FusedNets.Backends.Cpu;

/// <summary>
/// One layer of a network on the CPU engine at one vector width: its parameters in the layout its kernels want,
/// its per-batch scratch, and its part of each phase of <see cref="CpuPipeline{TVector, TOps}"/>. Each kind
/// implements it in its own folder (<c>src/FusedNets/Layers/&lt;Kind&gt;</c>); the pipeline knows no kind.
/// </summary>
/// <remarks>
/// Each kind implements the generic phase methods twice over: non-virtual kernels, which its public entry points for
/// generated code (such as <see cref="DenseCpu"/>) call with the activation known at compile time, and these virtual
/// members, which forward to them for the schedule read at run time (<see cref="ArchitectureCpuProgram"/>). A virtual
/// generic call costs a dictionary lookup on every call, which the single-sample path of a small network would feel;
/// the generated schedule never makes one.
/// <para>
/// Between layers, values are feature-major: (Units, P) with P the batch padded to whole vectors, so a layer's
/// products vectorize across samples. Each phase method computes this thread's share of the phase's outputs,
/// and every output is one fixed chain of operations, so results do not depend on the thread count.
/// </para>
/// </remarks>
internal abstract unsafe class CpuLayer<TVector, TOps>(int index, LayerArchitecture architecture)
    where TVector : unmanaged
    where TOps : IVectorOps<TVector>
{
    /// <summary>The layer's position in the network (0 reads the input).</summary>
    public int Index { get; } = index;

    public LayerArchitecture Architecture { get; } = architecture;

    /// <summary>The layer's weights and bias, or null for a layer without parameters.</summary>
    public abstract CpuWeights? Weights { get; }

    /// <summary>Multiply-adds of one sample forward, × 2 for the FLOPs; a training step costs about three times as much.</summary>
    public virtual long ForwardFlopsPerSample => 2 * Architecture.ForwardMultiplyAdds;

    /// <summary>Sizes this layer's own per-batch buffers for up to <paramref name="capacity"/> samples (P = <paramref name="stride"/>).</summary>
    public virtual void EnsureCapacity(int capacity, int stride)
    {
    }

    /// <summary>Forward for this thread's share: z = map(x), y = f(z), into the workspace's z and y of this layer.</summary>
    public abstract void Forward<TActivation>(CpuPipeline<TVector, TOps> cpu, int thread)
        where TActivation : struct, IActivationKernel;

    /// <summary>
    /// Backward data for this thread's share: dL/dx from this layer's delta, fused with the derivative of the layer
    /// below's activation <typeparamref name="TBelow"/>, into the layer below's delta.
    /// </summary>
    public abstract void Backward<TBelow>(CpuPipeline<TVector, TOps> cpu, int thread)
        where TBelow : struct, IActivationKernel;

    /// <summary>Backward data of the first layer: dL/dx into the workspace's input gradient, for this thread's share.</summary>
    public abstract void BackwardToInputs(CpuPipeline<TVector, TOps> cpu, int thread);

    /// <summary>The parameter gradient fused with the optimizer step, for this thread's share; writes the next parameter buffers.</summary>
    public virtual void Update(CpuPipeline<TVector, TOps> cpu, int thread)
    {
    }

    /// <summary>Called on the caller's thread before a single-sample pass: refresh whatever the single-sample kernels read.</summary>
    public virtual void PrepareToPredict()
    {
    }

    /// <summary>
    /// One sample forward for this thread's share, from <see cref="CpuPipeline{TVector, TOps}.SingleSampleInput"/> to
    /// <see cref="CpuPipeline{TVector, TOps}.SingleSampleOutput"/>. Its results equal the batched forward's bit for bit.
    /// </summary>
    public abstract void Predict<TActivation>(CpuPipeline<TVector, TOps> cpu, int thread)
        where TActivation : struct, IActivationKernel;

    /// <summary>Whether the single-sample forward splits this layer across threads (else thread 0 computes it alone).</summary>
    public virtual bool PredictSplitsAcrossThreads => true;

    // ---- Interval bound propagation (CpuPipeline.Intervals.cs; buffers in CpuIntervalWorkspace) ----

    /// <summary>Sizes the kind's own interval scratch for up to <paramref name="capacity"/> samples; <paramref name="training"/>: also what its gradient reads.</summary>
    public virtual void EnsureIntervalCapacity(int capacity, int stride, bool training)
    {
    }

    /// <summary>
    /// This thread's share of the bounds of z and y from the bounds of x (for a layer with weights, as the center,
    /// radius and magnitudes the pipeline prepared), widened to be sound unless the pass trains.
    /// </summary>
    public abstract void IntervalForward<TActivation>(CpuPipeline<TVector, TOps> cpu, int thread)
        where TActivation : struct, IActivationKernel;

    /// <summary>
    /// Backward through the bounds for this thread's share: from this layer's dμ and dρ to those of the layer below, through
    /// the interval rule of its activation <typeparamref name="TBelow"/>. Never called for the first layer.
    /// </summary>
    public abstract void IntervalBackward<TBelow>(CpuPipeline<TVector, TOps> cpu, int thread)
        where TBelow : struct, IActivationKernel;

    /// <summary>This thread's share of dL/dW and dL/db of the bounds, into the workspace's gradients (the step comes after).</summary>
    public virtual void IntervalGradient(CpuPipeline<TVector, TOps> cpu, int thread)
    {
    }
}
