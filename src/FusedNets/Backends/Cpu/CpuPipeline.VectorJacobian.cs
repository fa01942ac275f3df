using FusedNets.Backends;
using FusedNets.Backends.Cpu;

namespace FusedNets.Generated;

// The vector-Jacobian product: a backward pass whose last layer's delta is a given dL/dy ⊙ f'(z, y) instead of the
// loss's gradient, for attributions of one output (Interpretability).
public sealed unsafe partial class CpuPipeline<TVector, TOps>
{
    void INetworkEngine.VectorJacobianProduct(ReadOnlySpan<float> inputs, ReadOnlySpan<float> outputGradient, int batch, Span<float> inputGradient) =>
        RunPass(Pass.Seeded | Pass.InputGradient, inputs, default, outputGradient, default, inputGradient, batch, default);

    /// <summary>The seeded phase: this thread's samples' delta = v ⊙ f'(z, y), v their rows of the pass's targets; padding samples 0.</summary>
    private void SeedOutputGradient(int thread)
    {
        var visitor = new SeedVisitor(this, thread);
        Activations.Dispatch(_architecture.Layers[^1].Activation, ref visitor);
    }

    private void Seed<TOutput>(int thread)
        where TOutput : struct, IActivationKernel
    {
        CpuWorkspace workspace = Workspace;
        int outputs = _architecture.OutputSize;
        nint stride = Stride;
        float* z = workspace.PreActivations[Last].Pointer, y = workspace.Activations[Last].Pointer, delta = workspace.Deltas[Last].Pointer;
        (int first, int end) = Share(Batch, 1, thread);
        for (int sample = first; sample < end; sample++)
        {
            for (int o = 0; o < outputs; o++)
            {
                nint at = o * stride + sample;
                delta[at] = Targets[sample * outputs + o] * TOutput.Derivative(z[at], y[at]);
            }
        }

        if (thread == PassThreads - 1)
        {
            for (int o = 0; o < outputs; o++)
            {
                new Span<float>(delta + o * stride + Batch, Stride - Batch).Clear();
            }
        }
    }

    private readonly struct SeedVisitor(CpuPipeline<TVector, TOps> cpu, int thread) : IActivationVisitor
    {
        public void Visit<TOutput>()
            where TOutput : struct, IActivationKernel => cpu.Seed<TOutput>(thread);
    }
}
