using System.ComponentModel;
using System.Runtime.CompilerServices;
using FusedNets.Onnx;

namespace FusedNets.Generated;

/// <summary>y = log(1 + exp(z)), written so that large |z| neither overflows nor loses the linear part; dy/dz = sigmoid(z).</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct SoftplusKernel : ILaneByLaneActivationKernel<SoftplusKernel>
{
    public static Activation Activation => Activation.Softplus;

    public static bool ReluFamily => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Apply(float z) => MathF.Max(z, 0f) + MathF.Log(1f + MathF.Exp(-MathF.Abs(z)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Derivative(float z, float y) => 1f / (1f + MathF.Exp(-z));

    // log(1 + exp(z)) = max(z, 0) + log(1 + exp(-|z|)): exp never overflows, and for large z the linear part is kept
    // exactly instead of being lost inside log(exp(z)).
    public static double Reference(double z) => Math.Max(z, 0) + LogOnePlus(Math.Exp(-Math.Abs(z)));

    public static double ReferenceDerivative(double z, double y) => 1 / (1 + Math.Exp(-z));

    public static double ReferenceMinimumAt => double.NegativeInfinity;

    // expf and logf (1 ulp each) and two roundings: 4 · 2⁻²⁴ absolute plus 2⁻²⁴ · f(z), within 14 · 2⁻²⁴ (|z| + f(z))
    // since f(z) ≥ 0.31 where |z| < 1; the rest is headroom.
    public static float FloatErrorUlps => 32;

    // log(1 + x) accurate for tiny x, where 1 + x rounds away most of x's digits. Goldberg's trick: the rounding error
    // of u = 1 + x cancels in log(u) / (u - 1). (double.LogP1 is plain Log(1 + x).)
    private static double LogOnePlus(double x)
    {
        double u = 1 + x;
        return u == 1 ? x : Math.Log(u) * x / (u - 1);
    }

    internal static void AddOnnxNodes(OnnxGraph graph, string name, string z, string y) => graph.Elementwise("Softplus", name, [z], y);
}
