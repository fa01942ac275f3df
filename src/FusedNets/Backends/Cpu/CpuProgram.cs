using System.ComponentModel;

namespace FusedNets.Backends.Cpu;

/// <summary>
/// A network's CPU code: the generator emits one subclass per network, next to its ILGPU kernels and from
/// the same layer model, with every size a constant and every activation a type. <see cref="CpuEngine"/>
/// picks the vector width once and asks for the kernels at that width.
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
/// One network's layer schedule at one vector width. Each method names, per layer, the fused product that
/// layer runs, its activation as a type argument and its sizes as constants; <see cref="CpuPipeline{TVector, TOps}"/>
/// owns the buffers and the threads and calls these phase by phase.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public abstract class CpuKernels<TVector, TOps>
    where TVector : unmanaged
    where TOps : IVectorOps<TVector>
{
    /// <summary>
    /// One sample through every layer, run by each of the pipeline's threads (<paramref name="thread"/>):
    /// <see cref="CpuPipeline{TVector, TOps}.PredictLayer"/> per layer.
    /// </summary>
    public abstract void Predict(CpuPipeline<TVector, TOps> cpu, int thread);

    /// <summary>Layer <paramref name="layer"/>'s forward for its output rows [<paramref name="start"/>, <paramref name="end"/>).</summary>
    public abstract void Forward(CpuPipeline<TVector, TOps> cpu, int layer, int start, int end);

    /// <summary>
    /// Layer <paramref name="layer"/>'s backward data for its input rows [<paramref name="start"/>, <paramref name="end"/>):
    /// the delta of the layer below (its activation's derivative fused in), or the input gradient for layer 0.
    /// </summary>
    public abstract void Backward(CpuPipeline<TVector, TOps> cpu, int layer, int start, int end);
}

/// <summary>
/// The same schedule read from a <see cref="NetworkArchitecture"/> at run time, for architectures built without
/// the generator (tests build many); it turns each layer's activation into a type argument once per call,
/// so it runs the very kernels a generated program runs, with the same results bit for bit.
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
                DenseLayerArchitecture layer = architecture.Layers[l];
                var visitor = new PredictVisitor(cpu, thread, l, layer.Inputs, layer.Units);
                ActivationKernels.Dispatch(layer.Activation, ref visitor);
            }
        }

        public override void Forward(CpuPipeline<TVector, TOps> cpu, int layer, int start, int end)
        {
            var visitor = new ForwardVisitor(cpu, layer, start, end);
            ActivationKernels.Dispatch(architecture.Layers[layer].Activation, ref visitor);
        }

        public override void Backward(CpuPipeline<TVector, TOps> cpu, int layer, int start, int end)
        {
            if (layer == 0)
            {
                cpu.BackwardToInputs(start, end);
                return;
            }

            var visitor = new BackwardVisitor(cpu, layer, start, end);
            ActivationKernels.Dispatch(architecture.Layers[layer - 1].Activation, ref visitor);
        }

        private readonly struct PredictVisitor(CpuPipeline<TVector, TOps> cpu, int thread, int layer, int inputs, int units) : IActivationVisitor
        {
            public void Visit<TActivation>()
                where TActivation : struct, IActivationKernel => cpu.PredictLayer<TActivation>(thread, layer, inputs, units);
        }

        private readonly struct ForwardVisitor(CpuPipeline<TVector, TOps> cpu, int layer, int start, int end) : IActivationVisitor
        {
            public void Visit<TActivation>()
                where TActivation : struct, IActivationKernel => cpu.ForwardRows<TActivation>(layer, start, end);
        }

        private readonly struct BackwardVisitor(CpuPipeline<TVector, TOps> cpu, int layer, int start, int end) : IActivationVisitor
        {
            public void Visit<TBelow>()
                where TBelow : struct, IActivationKernel => cpu.BackwardRows<TBelow>(layer, start, end);
        }
    }
}
