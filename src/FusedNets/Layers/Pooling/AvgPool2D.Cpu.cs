using System.Runtime.CompilerServices;
using System.ComponentModel;
using FusedNets.Backends.Cpu;

namespace FusedNets.Generated;

/// <summary>The average pooling CPU kernels as a generated schedule names them, each with its activation as a type argument.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class AvgPool2DCpu
{
    /// <summary>The forward for this thread's share.</summary>
    public static void Forward<TVector, TOps, TActivation>(CpuPipeline<TVector, TOps> cpu, int layer, int thread)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TActivation : struct, IActivationKernel =>
        cpu.Layer<PoolingCpuLayer<TVector, TOps, AvgPoolRule>>(layer).ForwardKernel<TActivation>(cpu, thread);

    /// <summary>Backward data for this thread's share, fused with the derivative of the layer below.</summary>
    public static void Backward<TVector, TOps, TBelow>(CpuPipeline<TVector, TOps> cpu, int layer, int thread)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TBelow : struct, IActivationKernel =>
        cpu.Layer<PoolingCpuLayer<TVector, TOps, AvgPoolRule>>(layer).BackwardKernel<TBelow>(cpu, thread);

    /// <summary>The one sample in flight.</summary>
    public static void Predict<TVector, TOps, TActivation>(CpuPipeline<TVector, TOps> cpu, int layer, int thread)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TActivation : struct, IActivationKernel =>
        cpu.Layer<PoolingCpuLayer<TVector, TOps, AvgPoolRule>>(layer).PredictKernel<TActivation>(cpu, thread);
}

/// <summary>
/// The window's sum, rows then columns, times 1 / size² (the reference's division exactly when size is a power of two,
/// else to the last bit or so); the gradient, times the same, to every position of the window.
/// </summary>
internal readonly struct AvgPoolRule : IPoolingRule
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe TVector Reduce<TVector, TOps>(float* values, nint rowStep, nint columnStep, int size)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        TVector sum = TOps.Load(values);
        for (int i = 0; i < size; i++)
        {
            for (int j = i == 0 ? 1 : 0; j < size; j++)
            {
                sum = TOps.Add(sum, TOps.Load(values + i * rowStep + j * columnStep));
            }
        }

        return TOps.Multiply(sum, TOps.Broadcast(1f / (size * size)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Route<TVector, TOps, TEpilogue>(float* values, nint rowStep, nint columnStep, int size, TVector gradient, ref TEpilogue epilogue, int feature, int featureRowStep, int column)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TEpilogue : struct, ITileEpilogue
    {
        TVector share = TOps.Multiply(gradient, TOps.Broadcast(1f / (size * size)));
        for (int i = 0; i < size; i++)
        {
            for (int j = 0; j < size; j++)
            {
                epilogue.Row<TVector, TOps>(feature + i * featureRowStep + j, column, 1, share, default, default, default);
            }
        }
    }

    /// <summary>The sum of the window's size² values, then a scaling.</summary>
    public static int RoundedTerms(int size) => size * size;
}
