using System.ComponentModel;
using System.Runtime.CompilerServices;
using FusedNets.Onnx;

namespace FusedNets.Generated;

/// <summary>y = tanh(z); dy/dz = 1 − y².</summary>
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

    public static double ReferenceMinimumAt => double.NegativeInfinity;

    // tanhf is within 2 ulps (4 · 2⁻²⁴ relative) in glibc and CUDA; the rest is headroom for other libraries.
    public static float FloatErrorUlps => 32;

    internal static void AddOnnxNodes(OnnxGraph graph, string name, string z, string y) => graph.Elementwise("Tanh", name, [z], y);
}
