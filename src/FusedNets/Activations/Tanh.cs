using System.ComponentModel;
using System.Runtime.CompilerServices;
using FusedNets.Onnx;

namespace FusedNets.Generated;

/// <summary>y = tanh(z); dy/dz = 1 − y², d²y/dz² = −2y (1 − y²), d³y/dz³ = (1 − y²)(6y² − 2).</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct TanhKernel : ILaneByLaneActivationKernel<TanhKernel>
{
    public static Activation Activation => Activation.Tanh;

    public static bool ReluFamily => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Apply(float z) => MathF.Tanh(z);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Derivative(float z, float y) => 1f - y * y;

    public static double Reference(double z) => Math.Tanh(z);

    public static double ReferenceDerivative(double z, double y) => 1 - y * y;

    // Each derivative of tanh is a polynomial in y: d/dz of a polynomial p(y) is p'(y) (1 − y²).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SecondDerivative(float z, float y) => -2f * y * (1f - y * y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ThirdDerivative(float z, float y) => (1f - y * y) * (6f * y * y - 2f);

    // The derivatives are polynomials in y, so their vector forms are the scalar rules' very operations, lane-wise (no
    // fused multiply-adds), bit for bit: derivative propagation evaluates them for every unit of every point.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector Derivative<TVector, TOps>(TVector z, TVector y)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector> => TOps.Subtract(TOps.Broadcast(1f), TOps.Multiply(y, y));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector SecondDerivative<TVector, TOps>(TVector z, TVector y)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector> =>
        TOps.Multiply(TOps.Multiply(TOps.Broadcast(-2f), y), TOps.Subtract(TOps.Broadcast(1f), TOps.Multiply(y, y)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector ThirdDerivative<TVector, TOps>(TVector z, TVector y)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector> =>
        TOps.Multiply(TOps.Subtract(TOps.Broadcast(1f), TOps.Multiply(y, y)), TOps.Subtract(TOps.Multiply(TOps.Multiply(TOps.Broadcast(6f), y), y), TOps.Broadcast(2f)));

    public static double ReferenceSecondDerivative(double z, double y) => -2 * y * (1 - y * y);

    public static double ReferenceThirdDerivative(double z, double y) => (1 - y * y) * (6 * y * y - 2);

    public static double ReferenceMinimumAt => double.NegativeInfinity;

    // tanhf is within 2 ulps (4 · 2⁻²⁴ relative) in glibc and CUDA; the rest is headroom for other libraries.
    public static float FloatErrorUlps => 32;

    internal static void AddOnnxNodes(OnnxGraph graph, string name, string z, string y) => graph.Elementwise("Tanh", name, [z], y);
}
