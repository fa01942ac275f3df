using FusedNets.Backends.Cpu;

namespace FusedNets.Generated;

// The loss phase: per-sample loss and the last layer's delta.
//   loss_s = TLoss(y_s, label_s or t_s),  dL/dy from TLoss (divided by the batch),  delta = dL/dy ⊙ f'(z, y)
public sealed unsafe partial class CpuPipeline<TVector, TOps>
{
    /// <summary>
    /// This thread's samples' losses and the last layer's delta dL/dz, with the loss <typeparamref name="TLoss"/> and the
    /// output layer's activation <typeparamref name="TOutput"/>, whose derivative is fused in.
    /// </summary>
    public void Loss<TLoss, TOutput>(int thread)
        where TLoss : struct, ILossKernel
        where TOutput : struct, IActivationKernel
    {
        CpuWorkspace workspace = Workspace;
        int outputs = _architecture.OutputSize;
        nint stride = Stride;
        float* z = workspace.PreActivations[Last].Pointer;
        float* y = workspace.Activations[Last].Pointer;
        float* delta = workspace.Deltas[Last].Pointer;
        float batch = Batch;

        // An ensemble's output holds its members' outputs one group after another (NetworkArchitecture.LossGroups).
        int groups = _architecture.LossGroups, groupOutputs = outputs / groups;
        nint groupStride = groupOutputs * stride;
        (int first, int end) = Share(Batch, 1, thread);
        for (int sample = first; sample < end; sample++)
        {
            int label = TLoss.Target == LossTarget.ClassLabels ? Labels[sample] : -1;
            float* targets = TLoss.Target == LossTarget.FloatTargets ? Targets + sample * outputs : null;
            float loss = TLoss.Sample(y + sample, stride, groupOutputs, label, targets, delta + sample, batch);
            for (int group = 1; group < groups; group++)
            {
                float* groupTargets = targets == null ? null : targets + group * groupOutputs;
                loss += TLoss.Sample(y + group * groupStride + sample, stride, groupOutputs, label, groupTargets, delta + group * groupStride + sample, batch);
            }

            workspace.Losses[sample] = loss;
            for (int o = 0; o < outputs; o++)
            {
                nint at = o * stride + sample;
                delta[at] *= TOutput.Derivative(z[at], y[at]);
            }
        }

        if (thread == PassThreads - 1)
        {
            // Padding samples get no gradient, so every product of the backward leaves them at zero.
            for (int o = 0; o < outputs; o++)
            {
                new Span<float>(delta + o * stride + Batch, Stride - Batch).Clear();
            }
        }
    }
}
