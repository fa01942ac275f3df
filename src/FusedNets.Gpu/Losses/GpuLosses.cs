using FusedNets.Generated;
using ILGPU;

namespace FusedNets.Gpu;

/// <summary>
/// A loss's per-sample rule in kernel code, the counterpart of the core's <see cref="ILossKernel"/> (whose rules take
/// pointers, which ILGPU kernels have not): the per-layer loss kernel and the fused training step both call it, one
/// on rows in global memory, the other on rows in shared memory.
/// </summary>
internal interface IGpuLoss
{
    static abstract Loss Loss { get; }

    /// <summary>
    /// One sample: its outputs y (Outputs) and, for a loss on <see cref="LossTarget.FloatTargets"/>, its targets (same
    /// length; otherwise <paramref name="label"/>). Writes the sample's part of the gradient of the batch's mean loss,
    /// dL/dy (so divided by <paramref name="batch"/>), to <paramref name="dy"/>, and returns the sample's loss.
    /// </summary>
    static abstract float Sample(ArrayView<float> y, int label, ArrayView<float> targets, ArrayView<float> dy, float batch);
}

/// <summary>
/// Softmax over the outputs, then cross-entropy against the label, as <see cref="SoftmaxCrossEntropyLoss"/>:
/// loss = log Σ_o exp(y_o) − y_label, dL/dy_o = softmax(y)_o − [o = label].
/// </summary>
internal readonly struct GpuSoftmaxCrossEntropy : IGpuLoss
{
    public static Loss Loss => Loss.SoftmaxCrossEntropy;

    public static float Sample(ArrayView<float> y, int label, ArrayView<float> targets, ArrayView<float> dy, float batch)
    {
        int outputs = y.IntLength;
        float max = y[0];
        for (int o = 1; o < outputs; o++)
        {
            max = MathF.Max(max, y[o]);
        }

        // Each exponential is taken once and parked in dy, which the last loop overwrites.
        float sum = 0f;
        for (int o = 0; o < outputs; o++)
        {
            dy[o] = MathF.Exp(y[o] - max);
            sum += dy[o];
        }

        float loss = max + MathF.Log(sum) - y[label];
        for (int o = 0; o < outputs; o++)
        {
            dy[o] = (dy[o] / sum - (o == label ? 1f : 0f)) / batch;
        }

        return loss;
    }
}

/// <summary>
/// The mean over the outputs of the squared difference to the targets, as <see cref="MeanSquaredErrorLoss"/>:
/// loss = Σ_o (y_o − t_o)² / Outputs, dL/dy_o = 2 (y_o − t_o) / Outputs.
/// </summary>
internal readonly struct GpuMeanSquaredError : IGpuLoss
{
    public static Loss Loss => Loss.MeanSquaredError;

    public static float Sample(ArrayView<float> y, int label, ArrayView<float> targets, ArrayView<float> dy, float batch)
    {
        int outputs = y.IntLength;
        float squares = 0f;
        for (int o = 0; o < outputs; o++)
        {
            float difference = y[o] - targets[o];
            squares += difference * difference;
            dy[o] = 2f * difference / (batch * outputs);
        }

        return squares / outputs;
    }
}
