using System.ComponentModel;
using System.Runtime.CompilerServices;
using FusedNets.Onnx;

namespace FusedNets.Generated;

/// <summary>y = 1 / (1 + exp(−z)); dy/dz = y (1 − y).</summary>
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

    public static double ReferenceMinimumAt => double.NegativeInfinity;

    // expf (1 ulp), the addition and the division: about 5 · 2⁻²⁴ · f(z); the rest is headroom.
    public static float FloatErrorUlps => 32;

    internal static void AddOnnxNodes(OnnxGraph graph, string name, string z, string y) => graph.Elementwise("Sigmoid", name, [z], y);
}
