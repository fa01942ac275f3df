using System.ComponentModel;
using System.Runtime.CompilerServices;
using FusedNets.Onnx;

namespace FusedNets.Generated;

/// <summary>y = max(z, 0); dy/dz = 1 for z &gt; 0, else 0 (the left slope at 0, as PyTorch).</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct ReluKernel : IActivationKernel
{
    public static Activation Activation => Activation.Relu;

    public static bool ReluFamily => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Apply(float z) => z > 0f ? z : 0f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Derivative(float z, float y) => z > 0f ? 1f : 0f;

    // z > 0 ? z : 0
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector Apply<TVector, TOps>(TVector z)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector> => TOps.WherePositive(z, z, default);

    // z > 0 ? 1 : 0
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector Derivative<TVector, TOps>(TVector z, TVector y)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector> => TOps.WherePositive(z, TOps.Broadcast(1f), default);

    public static double Reference(double z) => Math.Max(z, 0);

    public static double ReferenceDerivative(double z, double y) => z > 0 ? 1 : 0;

    public static double ReferenceMinimumAt => double.NegativeInfinity;

    public static float FloatErrorUlps => 0;

    internal static void AddOnnxNodes(OnnxGraph graph, string name, string z, string y) => graph.Elementwise("Relu", name, [z], y);
}
