using FusedNets.Generated;
using ILGPU;
using ILGPU.Runtime;

namespace FusedNets.Gpu;

/// <summary>The loss fused with dL/dz of the output layer, for networks that do not take the fused training step.</summary>
internal static class LossKernels
{
    // z and y: (B, Out); labels: (B), or targets: (B, Out); losses: (B); dz: (B, Out), Out = groups × outputs.
    // One thread per sample: losses[s] = TLoss(y[s], label or targets), dz[s] = dL/dy ⊙ f'(z[s], y[s]) of the output
    // layer's activation, for the batch mean. An ensemble's output holds its members' outputs in groups, each with its
    // own loss against the label (or its part of the targets), summed. A loss that is not finite marks the step failed.
    public static void Loss<TLoss, TOutput>(
        Index1D sample,
        ArrayView<int> status,
        ArrayView<float> z,
        ArrayView<float> y,
        ArrayView<int> labels,
        ArrayView<float> targets,
        ArrayView<float> losses,
        ArrayView<float> dz,
        SpecializedValue<int> outputs,
        int groups,
        int batch,
        int step)
        where TLoss : struct, IGpuLoss
        where TOutput : struct, IActivationKernel
    {
        if (status[0] != 0)
        {
            return;
        }

        int row = sample * outputs * groups;
        float loss = TLoss.Sample(y.SubView(row, outputs), labels[sample], targets.SubView(row, outputs), dz.SubView(row, outputs), batch);
        for (int group = 1; group < groups; group++)
        {
            int first = row + group * outputs;
            loss += TLoss.Sample(y.SubView(first, outputs), labels[sample], targets.SubView(first, outputs), dz.SubView(first, outputs), batch);
        }

        losses[sample] = loss;
        for (int o = row; o < row + outputs * groups; o++)
        {
            dz[o] *= TOutput.Derivative(z[o], y[o]);
        }

        KernelChecks.FlagIfNotFinite(status, step, losses[sample]);
    }
}
