using System.Runtime.CompilerServices;
using System.ComponentModel;
using FusedNets.Backends.Cpu;

namespace FusedNets.Generated;

/// <summary>The max pooling CPU kernels as a generated schedule names them, each with its activation as a type argument.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class MaxPool2DCpu
{
    /// <summary>The forward for this thread's share.</summary>
    public static void Forward<TVector, TOps, TActivation>(CpuPipeline<TVector, TOps> cpu, int layer, int thread)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TActivation : struct, IActivationKernel =>
        cpu.Layer<PoolingCpuLayer<TVector, TOps, MaxPoolRule>>(layer).ForwardKernel<TActivation>(cpu, thread);

    /// <summary>Backward data for this thread's share, fused with the derivative of the layer below.</summary>
    public static void Backward<TVector, TOps, TBelow>(CpuPipeline<TVector, TOps> cpu, int layer, int thread)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TBelow : struct, IActivationKernel =>
        cpu.Layer<PoolingCpuLayer<TVector, TOps, MaxPoolRule>>(layer).BackwardKernel<TBelow>(cpu, thread);

    /// <summary>The one sample in flight.</summary>
    public static void Predict<TVector, TOps, TActivation>(CpuPipeline<TVector, TOps> cpu, int layer, int thread)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TActivation : struct, IActivationKernel =>
        cpu.Layer<PoolingCpuLayer<TVector, TOps, MaxPoolRule>>(layer).PredictKernel<TActivation>(cpu, thread);
}

/// <summary>
/// The largest value of the window, scanning rows then columns and keeping a value only when it is greater (<c>&gt;</c>)
/// than the best so far, as the reference does: ties go to the first, and the gradient to the value taken.
/// </summary>
/// <remarks>
/// NaN, by the same rule: a NaN is never greater, so it is taken only as the window's first value, which nothing can
/// then replace (the output is NaN and the gradient goes there); a NaN elsewhere is skipped. PyTorch instead returns
/// NaN for any window holding one. Either way the loss is NaN when the NaN reaches it, and the engine drops the step.
/// </remarks>
internal readonly struct MaxPoolRule : IPoolingRule
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe TVector Reduce<TVector, TOps>(float* values, nint rowStep, nint columnStep, int size)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        TVector best = TOps.Load(values);
        for (int i = 0; i < size; i++)
        {
            for (int j = i == 0 ? 1 : 0; j < size; j++)
            {
                TVector value = TOps.Load(values + i * rowStep + j * columnStep);
                best = TOps.WhereGreater(value, best, value, best);
            }
        }

        return best;
    }

    /// <summary>The scan again, remembering where each lane's best is (a window position, exact as a float), then the gradient to that position alone.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Route<TVector, TOps, TEpilogue>(float* values, nint rowStep, nint columnStep, int size, TVector gradient, ref TEpilogue epilogue, int feature, int featureRowStep, int column)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TEpilogue : struct, ITileEpilogue
    {
        TVector best = TOps.Load(values), taken = default;
        for (int i = 0; i < size; i++)
        {
            for (int j = i == 0 ? 1 : 0; j < size; j++)
            {
                TVector value = TOps.Load(values + i * rowStep + j * columnStep);
                taken = TOps.WhereGreater(value, best, TOps.Broadcast(i * size + j), taken);
                best = TOps.WhereGreater(value, best, value, best);
            }
        }

        for (int i = 0; i < size; i++)
        {
            for (int j = 0; j < size; j++)
            {
                // taken == position, as two comparisons half a position apart.
                float position = i * size + j;
                TVector share = TOps.WhereGreater(taken, TOps.Broadcast(position - 0.5f), TOps.WhereGreater(TOps.Broadcast(position + 0.5f), taken, gradient, default), default);
                epilogue.Row<TVector, TOps>(feature + i * featureRowStep + j, column, 1, share, default, default, default);
            }
        }
    }

    /// <summary>The largest value is one of the values, exactly: no rounding.</summary>
    public static int RoundedTerms(int size) => 0;
}
