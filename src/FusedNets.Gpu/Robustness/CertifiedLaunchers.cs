using ILGPU;
using ILGPU.Runtime;
using View = ILGPU.ArrayView<float>;

namespace FusedNets.Gpu;

// Launchers of certified training's kernels whose parameters outnumber Action's type arguments: ILGPU loads a kernel
// into any delegate of the stream, the launch dimension and the kernel's parameters.

/// <summary>An affine kind's <c>IntervalUpdate</c>: <typeparamref name="TDimension"/> its launch, <typeparamref name="TShape"/> its sizes.</summary>
internal delegate void IntervalUpdateLauncher<TDimension, TRule, TShape>(
    AcceleratorStream stream, TDimension dimension, ArrayView<int> status, View lower, View upper, View centerGradients, View radiusGradients,
    View w, View b, View mw, View mb, View vw, View vb, View mask, TRule rule, SpecializedValue<TShape> shape, int batch, int step)
    where TDimension : struct
    where TRule : struct
    where TShape : unmanaged, IEquatable<TShape>;

/// <summary><see cref="IntervalKernels.OutputLoss"/>.</summary>
internal delegate void OutputLossLauncher(
    AcceleratorStream stream, Index1D samples, ArrayView<int> status, View zLower, View zUpper, View yLower, View yUpper, ArrayView<int> labels,
    IntervalRule output, View differences, View losses, View centerGradients, View radiusGradients, SpecializedValue<int> outputs,
    int points, float pointWeight, float boxWeight);
