using System.ComponentModel;

namespace FusedNets.Generated;

/// <summary>
/// One loss as a type, so the engines' loss phase gets its rule inlined. Each loss lives in one file of
/// <c>src/FusedNets/Losses</c>: this kernel (single precision, what every CPU engine runs) beside its
/// double-precision reference (<see cref="ReferenceLoss"/>).
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public interface ILossKernel
{
    static abstract Loss Loss { get; }

    static abstract LossTarget Target { get; }

    /// <summary>
    /// One sample: its <paramref name="outputs"/> values y[o] lie at <c>y[o * stride]</c>, its targets (for
    /// <see cref="LossTarget.FloatTargets"/>) contiguous at <paramref name="targets"/>. Writes the gradient of the
    /// batch's mean loss, dL/dy[o] (this sample's part, so divided by <paramref name="batch"/>), to
    /// <c>dy[o * stride]</c>, and returns the sample's loss.
    /// </summary>
    static abstract unsafe float Sample(float* y, nint stride, int outputs, int label, float* targets, float* dy, float batch);
}
