using System.ComponentModel;

namespace FusedNets.Backends.Cpu;

/// <summary>
/// A network's CPU code: the generator emits one subclass per network, from the same layer model as its
/// declaration, with every activation and the loss a type. <see cref="CpuEngine"/> picks the vector width once and
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
/// One network's schedule at one vector width: per phase and layer, which activation (and loss) the layer's
/// kernels are instantiated with. <see cref="CpuPipeline{TVector, TOps}"/> owns the layers, buffers and threads
/// and calls these phase by phase; each call runs the calling thread's share.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public abstract class CpuKernels<TVector, TOps>
    where TVector : unmanaged
    where TOps : IVectorOps<TVector>
{
    /// <summary>One sample through every layer: <see cref="CpuPipeline{TVector, TOps}.Predict{TActivation}"/> per layer.</summary>
    public abstract void Predict(CpuPipeline<TVector, TOps> cpu, int thread);

    /// <summary>Layer <paramref name="layer"/>'s forward: <see cref="CpuPipeline{TVector, TOps}.Forward{TActivation}"/> with its activation.</summary>
    public abstract void Forward(CpuPipeline<TVector, TOps> cpu, int layer, int thread);

    /// <summary>
    /// Layer <paramref name="layer"/>'s backward data (<paramref name="layer"/> ≥ 1): <see cref="CpuPipeline{TVector, TOps}.Backward{TBelow}"/>
    /// with the activation of the layer below, whose delta it writes.
    /// </summary>
    public abstract void Backward(CpuPipeline<TVector, TOps> cpu, int layer, int thread);

    /// <summary>The loss phase: <see cref="CpuPipeline{TVector, TOps}.Loss{TLoss, TOutput}"/> with the loss and the output layer's activation.</summary>
    public abstract void Loss(CpuPipeline<TVector, TOps> cpu, int thread);
}

/// <summary>
/// The same schedule read from a <see cref="NetworkArchitecture"/> at run time, for architectures built without
/// the generator (tests build many); it turns each layer's activation and the loss into type arguments once per
/// call, so it runs the very kernels a generated program runs, with the same results bit for bit.
/// </summary>
internal sealed class ArchitectureCpuProgram(NetworkArchitecture architecture) : CpuProgram
{
    public override CpuKernels<TVector, TOps> CreateKernels<TVector, TOps>() => new Kernels<TVector, TOps>(architecture);

    private sealed class Kernels<TVector, TOps>(NetworkArchitecture architecture) : CpuKernels<TVector, TOps>
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        public override void Predict(CpuPipeline<TVector, TOps> cpu, int thread)
        {
            for (int l = 0; l < architecture.Layers.Length; l++)
            {
                var visitor = new PredictVisitor(cpu, l, thread);
                ActivationKernels.Dispatch(architecture.Layers[l].Activation, ref visitor);
            }
        }

        public override void Forward(CpuPipeline<TVector, TOps> cpu, int layer, int thread)
        {
            var visitor = new ForwardVisitor(cpu, layer, thread);
            ActivationKernels.Dispatch(architecture.Layers[layer].Activation, ref visitor);
        }

        public override void Backward(CpuPipeline<TVector, TOps> cpu, int layer, int thread)
        {
            var visitor = new BackwardVisitor(cpu, layer, thread);
            ActivationKernels.Dispatch(architecture.Layers[layer - 1].Activation, ref visitor);
        }

        public override void Loss(CpuPipeline<TVector, TOps> cpu, int thread)
        {
            var visitor = new LossVisitor(cpu, architecture.Layers[^1].Activation, thread);
            Losses.Dispatch(architecture.Loss, ref visitor);
        }

        private readonly struct PredictVisitor(CpuPipeline<TVector, TOps> cpu, int layer, int thread) : IActivationVisitor
        {
            public void Visit<TActivation>()
                where TActivation : struct, IActivationKernel => cpu.Predict<TActivation>(layer, thread);
        }

        private readonly struct ForwardVisitor(CpuPipeline<TVector, TOps> cpu, int layer, int thread) : IActivationVisitor
        {
            public void Visit<TActivation>()
                where TActivation : struct, IActivationKernel => cpu.Forward<TActivation>(layer, thread);
        }

        private readonly struct BackwardVisitor(CpuPipeline<TVector, TOps> cpu, int layer, int thread) : IActivationVisitor
        {
            public void Visit<TBelow>()
                where TBelow : struct, IActivationKernel => cpu.Backward<TBelow>(layer, thread);
        }

        private readonly struct LossVisitor(CpuPipeline<TVector, TOps> cpu, Activation output, int thread) : ILossVisitor
        {
            public void Visit<TLoss>()
                where TLoss : struct, ILossKernel
            {
                var visitor = new OutputVisitor<TLoss>(cpu, thread);
                ActivationKernels.Dispatch(output, ref visitor);
            }
        }

        private readonly struct OutputVisitor<TLoss>(CpuPipeline<TVector, TOps> cpu, int thread) : IActivationVisitor
            where TLoss : struct, ILossKernel
        {
            public void Visit<TOutput>()
                where TOutput : struct, IActivationKernel => cpu.Loss<TLoss, TOutput>(thread);
        }
    }
}
