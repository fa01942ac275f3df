using FusedNets.Generated;

namespace FusedNets.Backends.Cpu;

/// <summary>
/// The same schedule read from a <see cref="NetworkArchitecture"/> at run time, for architectures built without
/// the generator (tests build many); it turns each layer's activation and the loss into type arguments once per
/// call and reaches each layer's kernels through their virtual entry points, so it runs the very kernels a
/// generated program runs, with the same results bit for bit.
/// </summary>
internal sealed class ArchitectureCpuProgram(NetworkArchitecture architecture) : CpuProgram
{
    public override CpuKernels<TVector, TOps> CreateKernels<TVector, TOps>() => new Kernels<TVector, TOps>(architecture);

    private sealed class Kernels<TVector, TOps>(NetworkArchitecture architecture) : CpuKernels<TVector, TOps>
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        public override void Predict(CpuPipeline<TVector, TOps> cpu, int layer, int thread)
        {
            var visitor = new PredictVisitor(cpu, layer, thread);
            Activations.Dispatch(architecture.Layers[layer].Activation, ref visitor);
        }

        public override void Forward(CpuPipeline<TVector, TOps> cpu, int layer, int thread)
        {
            var visitor = new ForwardVisitor(cpu, layer, thread);
            Activations.Dispatch(architecture.Layers[layer].Activation, ref visitor);
        }

        public override void Backward(CpuPipeline<TVector, TOps> cpu, int layer, int thread)
        {
            var visitor = new BackwardVisitor(cpu, layer, thread);
            Activations.Dispatch(architecture.Layers[layer - 1].Activation, ref visitor);
        }

        public override void Loss(CpuPipeline<TVector, TOps> cpu, int thread)
        {
            var visitor = new LossVisitor(cpu, architecture.Layers[^1].Activation, thread);
            Losses.Dispatch(architecture.Loss, ref visitor);
        }

        private readonly struct PredictVisitor(CpuPipeline<TVector, TOps> cpu, int layer, int thread) : IActivationVisitor
        {
            public void Visit<TActivation>()
                where TActivation : struct, IActivationKernel => cpu.Layers[layer].Predict<TActivation>(cpu, thread);
        }

        private readonly struct ForwardVisitor(CpuPipeline<TVector, TOps> cpu, int layer, int thread) : IActivationVisitor
        {
            public void Visit<TActivation>()
                where TActivation : struct, IActivationKernel => cpu.Layers[layer].Forward<TActivation>(cpu, thread);
        }

        private readonly struct BackwardVisitor(CpuPipeline<TVector, TOps> cpu, int layer, int thread) : IActivationVisitor
        {
            public void Visit<TBelow>()
                where TBelow : struct, IActivationKernel => cpu.Layers[layer].Backward<TBelow>(cpu, thread);
        }

        private readonly struct LossVisitor(CpuPipeline<TVector, TOps> cpu, Activation output, int thread) : ILossVisitor
        {
            public void Visit<TLoss>()
                where TLoss : struct, ILossKernel
            {
                var visitor = new OutputVisitor<TLoss>(cpu, thread);
                Activations.Dispatch(output, ref visitor);
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
