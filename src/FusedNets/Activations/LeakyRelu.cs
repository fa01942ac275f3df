using System.ComponentModel;
using System.Runtime.CompilerServices;
using FusedNets.Onnx;

namespace FusedNets.Generated;

/// <summary>y = z for z &gt; 0, else <see cref="Slope"/> z (PyTorch's default negative slope).</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct LeakyReluKernel : IActivationKernel
{
    /// <summary>The slope for negative inputs.</summary>
    public const float Slope = 0.01f;

    public static Activation Activation => Activation.LeakyRelu;

    public static bool ReluFamily => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Apply(float z) => z > 0f ? z : Slope * z;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Derivative(float z, float y) => z > 0f ? 1f : Slope;

    // z > 0 ? z : slope * z
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector Apply<TVector, TOps>(TVector z)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector> => TOps.WherePositive(z, z, TOps.Multiply(TOps.Broadcast(Slope), z));

    // z > 0 ? 1 : slope
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector Derivative<TVector, TOps>(TVector z, TVector y)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector> => TOps.WherePositive(z, TOps.Broadcast(1f), TOps.Broadcast(Slope));

    // The slope in double is exactly 0.01, not the float nearest it: the reference is the mathematical function.
    public static double Reference(double z) => z > 0 ? z : 0.01 * z;

    public static double ReferenceDerivative(double z, double y) => z > 0 ? 1 : 0.01;

    public static double ReferenceMinimumAt => double.NegativeInfinity;

    // One rounding of Slope · z, and the float slope 0.0099999998 against the reference's 0.01: under 2 ulps of f(z).
    public static float FloatErrorUlps => 4;

    internal static void AddOnnxNodes(OnnxGraph graph, string name, string z, string y) =>
        graph.Elementwise("LeakyRelu", name, [z], y, OnnxGraph.Float("alpha", Slope));
}
