using System.ComponentModel;
using System.Runtime.CompilerServices;
using FusedNets.Onnx;

namespace FusedNets.Generated;

/// <summary>y = 1 / (1 + exp(−z)); dy/dz = y (1 − y), d²y/dz² = y (1 − y)(1 − 2y), d³y/dz³ = y (1 − y)(1 − 6y + 6y²).</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct SigmoidKernel : ILaneByLaneActivationKernel<SigmoidKernel>
{
    public static Activation Activation => Activation.Sigmoid;

    public static bool ReluFamily => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Apply(float z) => 1f / (1f + MathF.Exp(-z));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Derivative(float z, float y) => y * (1f - y);

    public static double Reference(double z) => 1 / (1 + Math.Exp(-z));

    public static double ReferenceDerivative(double z, double y) => y * (1 - y);

    // Polynomials in y, as dy/dz is: d/dz of p(y) is p'(y) y (1 − y).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SecondDerivative(float z, float y) => y * (1f - y) * (1f - 2f * y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ThirdDerivative(float z, float y) => y * (1f - y) * (1f - 6f * y + 6f * y * y);

    // As for tanh: polynomials in y, written lane-wise with the scalar rules' operations in their order, bit for bit.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector Derivative<TVector, TOps>(TVector z, TVector y)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector> => TOps.Multiply(y, TOps.Subtract(TOps.Broadcast(1f), y));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector SecondDerivative<TVector, TOps>(TVector z, TVector y)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector> =>
        TOps.Multiply(TOps.Multiply(y, TOps.Subtract(TOps.Broadcast(1f), y)), TOps.Subtract(TOps.Broadcast(1f), TOps.Multiply(TOps.Broadcast(2f), y)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector ThirdDerivative<TVector, TOps>(TVector z, TVector y)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        TVector six = TOps.Broadcast(6f);
        TVector polynomial = TOps.Add(TOps.Subtract(TOps.Broadcast(1f), TOps.Multiply(six, y)), TOps.Multiply(TOps.Multiply(six, y), y));
        return TOps.Multiply(TOps.Multiply(y, TOps.Subtract(TOps.Broadcast(1f), y)), polynomial);
    }

    public static double ReferenceSecondDerivative(double z, double y) => y * (1 - y) * (1 - 2 * y);

    public static double ReferenceThirdDerivative(double z, double y) => y * (1 - y) * (1 - 6 * y + 6 * y * y);

    public static double ReferenceMinimumAt => double.NegativeInfinity;

    // expf (1 ulp), the addition and the division: about 5 · 2⁻²⁴ · f(z); the rest is headroom.
    public static float FloatErrorUlps => 32;

    internal static void AddOnnxNodes(OnnxGraph graph, string name, string z, string y) => graph.Elementwise("Sigmoid", name, [z], y);
}
