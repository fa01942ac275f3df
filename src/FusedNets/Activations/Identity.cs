using System.ComponentModel;
using System.Runtime.CompilerServices;
using FusedNets.Onnx;

namespace FusedNets.Generated;

/// <summary>y = z.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct IdentityKernel : IActivationKernel
{
    public static Activation Activation => Activation.Identity;

    public static bool ReluFamily => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Apply(float z) => z;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Derivative(float z, float y) => 1f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector Apply<TVector, TOps>(TVector z)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector> => z;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector Derivative<TVector, TOps>(TVector z, TVector y)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector> => TOps.Broadcast(1f);

    public static double Reference(double z) => z;

    public static double ReferenceDerivative(double z, double y) => 1;

    public static double ReferenceMinimumAt => double.NegativeInfinity;

    public static float FloatErrorUlps => 0;

    // y is z itself: the exporter names them alike.
    internal static void AddOnnxNodes(OnnxGraph graph, string name, string z, string y)
    {
    }
}
