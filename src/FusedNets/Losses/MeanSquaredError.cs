using System.ComponentModel;
using System.Runtime.CompilerServices;

namespace FusedNets.Generated;

/// <summary>The mean over the outputs of the squared difference to the targets: loss = Σ_o (y_o − t_o)² / Outputs, dL/dy_o = 2 (y_o − t_o) / Outputs.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct MeanSquaredErrorLoss : ILossKernel
{
    public static Loss Loss => Loss.MeanSquaredError;

    public static LossTarget Target => LossTarget.FloatTargets;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe float Sample(float* y, nint stride, int outputs, int label, float* targets, float* dy, float batch)
    {
        float squares = 0;
        for (int o = 0; o < outputs; o++)
        {
            nint at = o * stride;
            float difference = y[at] - targets[o];
            squares += difference * difference;
            dy[at] = 2f * difference / (batch * outputs);
        }

        return squares / outputs;
    }

    internal sealed class ReferenceRule : FusedNets.ReferenceLoss
    {
        // loss = (1/Out) Σ_o (y - t)²
        public override double Value(ReadOnlySpan<double> y, int label, ReadOnlySpan<double> targets)
        {
            double sum = 0;
            for (int o = 0; o < y.Length; o++)
            {
                sum += (y[o] - targets[o]) * (y[o] - targets[o]);
            }

            return sum / y.Length;
        }

        // dloss/dy = 2 (y - t) / Out
        public override void Gradient(ReadOnlySpan<double> y, int label, ReadOnlySpan<double> targets, Span<double> dy)
        {
            for (int o = 0; o < y.Length; o++)
            {
                dy[o] = 2 * (y[o] - targets[o]) / y.Length;
            }
        }
    }
}
