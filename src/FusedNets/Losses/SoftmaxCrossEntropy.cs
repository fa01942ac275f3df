using System.ComponentModel;
using System.Runtime.CompilerServices;

namespace FusedNets.Generated;

/// <summary>
/// Softmax over the outputs, then cross-entropy against the class label:
/// loss = log Σ_o exp(y_o) − y_label, dL/dy_o = softmax(y)_o − [o = label].
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct SoftmaxCrossEntropyLoss : ILossKernel
{
    public static Loss Loss => Loss.SoftmaxCrossEntropy;

    public static LossTarget Target => LossTarget.ClassLabels;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe float Sample(float* y, nint stride, int outputs, int label, float* targets, float* dy, float batch)
    {
        float max = float.NegativeInfinity;
        for (int o = 0; o < outputs; o++)
        {
            max = MathF.Max(max, y[o * stride]);
        }

        // Each exponential is taken once and parked in dy, which the loop below overwrites.
        float sum = 0;
        for (int o = 0; o < outputs; o++)
        {
            nint at = o * stride;
            dy[at] = MathF.Exp(y[at] - max);
            sum += dy[at];
        }

        float loss = max + MathF.Log(sum) - y[label * stride];
        for (int o = 0; o < outputs; o++)
        {
            nint at = o * stride;
            float probability = dy[at] / sum;
            dy[at] = (probability - (o == label ? 1f : 0f)) / batch;
        }

        return loss;
    }

    internal sealed class ReferenceRule : FusedNets.ReferenceLoss
    {
        // loss = -log softmax(y)[label] = logsumexp(y) - y[label]
        public override double Value(ReadOnlySpan<double> y, int label, ReadOnlySpan<double> targets) => LogSumExp(y) - y[label];

        // dloss/dy = softmax(y) - onehot(label)
        public override void Gradient(ReadOnlySpan<double> y, int label, ReadOnlySpan<double> targets, Span<double> dy)
        {
            double logSumExp = LogSumExp(y);
            for (int o = 0; o < y.Length; o++)
            {
                dy[o] = Math.Exp(y[o] - logSumExp) - (o == label ? 1 : 0);
            }
        }

        // log(sum exp(v)), shifted by the maximum so that no exponential overflows.
        private static double LogSumExp(ReadOnlySpan<double> v)
        {
            double max = double.NegativeInfinity;
            foreach (double value in v)
            {
                max = Math.Max(max, value);
            }

            double sum = 0;
            foreach (double value in v)
            {
                sum += Math.Exp(value - max);
            }

            return max + Math.Log(sum);
        }
    }
}
