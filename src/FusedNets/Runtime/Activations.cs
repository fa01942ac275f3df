using System.Runtime.CompilerServices;

namespace FusedNets;

/// <summary>
/// The forward and derivative rule of every <see cref="Activation"/>, in single precision, in one place.
/// Kernels reach them through the activation types (<see cref="Backends.Cpu.ReluKernel"/> and its siblings), which the
/// CPU engine and the GPU package's generic kernels take as type arguments: adding an activation means adding an
/// enum member and its two methods here, its kernel type, plus its entry in the double-precision reference
/// (<c>FusedNets.Reference.ReferenceMath</c>).
/// </summary>
/// <remarks>
/// Each derivative receives both the pre-activation z and the activation y = f(z), which the forward saves,
/// so that no rule recomputes an exponential it already has.
/// </remarks>
public static class Activations
{
    /// <summary>The slope of <see cref="Activation.LeakyRelu"/> for negative inputs (PyTorch's default).</summary>
    public const float LeakyReluSlope = 0.01f;

    // sqrt(2 / pi) and the cubic coefficient of the tanh approximation of GELU.
    private const float GeluScale = 0.7978845608028654f;
    private const float GeluCubic = 0.044715f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Identity(float z) => z;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float IdentityDerivative(float z, float y) => 1f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Relu(float z) => z > 0f ? z : 0f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ReluDerivative(float z, float y) => z > 0f ? 1f : 0f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float LeakyRelu(float z) => z > 0f ? z : LeakyReluSlope * z;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float LeakyReluDerivative(float z, float y) => z > 0f ? 1f : LeakyReluSlope;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Tanh(float z) => MathF.Tanh(z);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float TanhDerivative(float z, float y) => 1f - y * y;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sigmoid(float z) => 1f / (1f + MathF.Exp(-z));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SigmoidDerivative(float z, float y) => y * (1f - y);

    /// <summary>0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3))).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Gelu(float z) => 0.5f * z * (1f + MathF.Tanh(GeluScale * (z + GeluCubic * z * z * z)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float GeluDerivative(float z, float y)
    {
        float t = MathF.Tanh(GeluScale * (z + GeluCubic * z * z * z));
        return 0.5f * (1f + t) + 0.5f * z * (1f - t * t) * GeluScale * (1f + 3f * GeluCubic * z * z);
    }

    /// <summary>log(1 + exp(z)), written so that large |z| neither overflows nor loses the linear part.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Softplus(float z) => MathF.Max(z, 0f) + MathF.Log(1f + MathF.Exp(-MathF.Abs(z)));

    /// <summary>The derivative of softplus is the sigmoid.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SoftplusDerivative(float z, float y) => 1f / (1f + MathF.Exp(-z));

    /// <summary>Applies <paramref name="activation"/> to one value (the scalar entry point for host code).</summary>
    public static float Apply(Activation activation, float z) => activation switch
    {
        Activation.Identity => Identity(z),
        Activation.Relu => Relu(z),
        Activation.LeakyRelu => LeakyRelu(z),
        Activation.Tanh => Tanh(z),
        Activation.Sigmoid => Sigmoid(z),
        Activation.Gelu => Gelu(z),
        Activation.Softplus => Softplus(z),
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation."),
    };

    /// <summary>The derivative dy/dz of <paramref name="activation"/> at z, given y = f(z).</summary>
    public static float Derivative(Activation activation, float z, float y) => activation switch
    {
        Activation.Identity => IdentityDerivative(z, y),
        Activation.Relu => ReluDerivative(z, y),
        Activation.LeakyRelu => LeakyReluDerivative(z, y),
        Activation.Tanh => TanhDerivative(z, y),
        Activation.Sigmoid => SigmoidDerivative(z, y),
        Activation.Gelu => GeluDerivative(z, y),
        Activation.Softplus => SoftplusDerivative(z, y),
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation."),
    };

    /// <summary>True for the activations initialized with He's scheme (the ReLU family); the rest use Glorot's.</summary>
    public static bool IsReluFamily(Activation activation) =>
        activation is Activation.Relu or Activation.LeakyRelu or Activation.Gelu or Activation.Softplus;
}
