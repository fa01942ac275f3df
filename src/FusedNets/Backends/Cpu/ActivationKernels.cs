using System.ComponentModel;
using System.Runtime.CompilerServices;

namespace FusedNets.Backends.Cpu;

/// <summary>
/// One <see cref="Activation"/> as a type, so kernels generic over it get the rule inlined instead of a
/// switch per element. The scalar members forward to <see cref="Activations"/>, where the rules live.
/// </summary>
/// <remarks>
/// The vector members apply the same rule to every lane. Transcendental activations do that lane by lane
/// through the scalar rule. The piecewise-linear ones (identity, ReLU, leaky ReLU) are written once more
/// as a lane-wise select: they run on every element of every layer, a scalar loop there would cost as much
/// as a small layer's product, and a select is the exact same comparison and multiply. A test checks them
/// bit for bit against <see cref="Activations"/> on ordinary and special values (±0, ±∞, NaN).
/// </remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public interface IActivationKernel
{
    static abstract Activation Activation { get; }

    static abstract float Apply(float z);

    static abstract float Derivative(float z, float y);

    static abstract TVector Apply<TVector, TOps>(TVector z)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>;

    static abstract TVector Derivative<TVector, TOps>(TVector z, TVector y)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>;
}

/// <summary>
/// An activation whose vector members apply its scalar rule lane by lane: the transcendental ones, whose
/// scalar rules (<see cref="Activations"/>) are the definition a vector approximation would have to match bit for bit.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public interface ILaneByLaneActivationKernel<TSelf> : IActivationKernel
    where TSelf : ILaneByLaneActivationKernel<TSelf>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static TVector IActivationKernel.Apply<TVector, TOps>(TVector z) => ActivationKernels.ApplyEachLane<TVector, TOps, TSelf>(z);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static TVector IActivationKernel.Derivative<TVector, TOps>(TVector z, TVector y) => ActivationKernels.DerivativeEachLane<TVector, TOps, TSelf>(z, y);
}

/// <summary>Calls back with the <see cref="IActivationKernel"/> type of an <see cref="Activation"/> value.</summary>
internal interface IActivationVisitor
{
    void Visit<TActivation>()
        where TActivation : struct, IActivationKernel;
}

internal static class ActivationKernels
{
    /// <summary>Turns a runtime <paramref name="activation"/> into a type argument once per layer, not per element.</summary>
    public static void Dispatch<TVisitor>(Activation activation, ref TVisitor visitor)
        where TVisitor : struct, IActivationVisitor
    {
        switch (activation)
        {
            case Activation.Identity: visitor.Visit<IdentityKernel>(); break;
            case Activation.Relu: visitor.Visit<ReluKernel>(); break;
            case Activation.LeakyRelu: visitor.Visit<LeakyReluKernel>(); break;
            case Activation.Tanh: visitor.Visit<TanhKernel>(); break;
            case Activation.Sigmoid: visitor.Visit<SigmoidKernel>(); break;
            case Activation.Gelu: visitor.Visit<GeluKernel>(); break;
            case Activation.Softplus: visitor.Visit<SoftplusKernel>(); break;
            default: throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
        }
    }

    /// <summary>Applies <typeparamref name="TActivation"/>'s scalar rule to each lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe TVector ApplyEachLane<TVector, TOps, TActivation>(TVector z)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TActivation : IActivationKernel
    {
        TVector result = z;
        float* lanes = (float*)&result;
        for (int j = 0; j < TOps.Count; j++)
        {
            lanes[j] = TActivation.Apply(lanes[j]);
        }

        return result;
    }

    /// <summary>Applies <typeparamref name="TActivation"/>'s scalar derivative to each lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe TVector DerivativeEachLane<TVector, TOps, TActivation>(TVector z, TVector y)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TActivation : IActivationKernel
    {
        TVector result = z;
        float* lanes = (float*)&result;
        float* outputs = (float*)&y;
        for (int j = 0; j < TOps.Count; j++)
        {
            lanes[j] = TActivation.Derivative(lanes[j], outputs[j]);
        }

        return result;
    }
}

[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct IdentityKernel : IActivationKernel
{
    public static Activation Activation => Activation.Identity;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Apply(float z) => Activations.Identity(z);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Derivative(float z, float y) => Activations.IdentityDerivative(z, y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector Apply<TVector, TOps>(TVector z)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector> => z;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector Derivative<TVector, TOps>(TVector z, TVector y)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector> => TOps.Broadcast(1f);
}

[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct ReluKernel : IActivationKernel
{
    public static Activation Activation => Activation.Relu;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Apply(float z) => Activations.Relu(z);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Derivative(float z, float y) => Activations.ReluDerivative(z, y);

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
}

[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct LeakyReluKernel : IActivationKernel
{
    public static Activation Activation => Activation.LeakyRelu;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Apply(float z) => Activations.LeakyRelu(z);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Derivative(float z, float y) => Activations.LeakyReluDerivative(z, y);

    // z > 0 ? z : slope * z
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector Apply<TVector, TOps>(TVector z)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector> => TOps.WherePositive(z, z, TOps.Multiply(TOps.Broadcast(Activations.LeakyReluSlope), z));

    // z > 0 ? 1 : slope
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector Derivative<TVector, TOps>(TVector z, TVector y)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector> => TOps.WherePositive(z, TOps.Broadcast(1f), TOps.Broadcast(Activations.LeakyReluSlope));
}

[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct TanhKernel : ILaneByLaneActivationKernel<TanhKernel>
{
    public static Activation Activation => Activation.Tanh;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Apply(float z) => Activations.Tanh(z);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Derivative(float z, float y) => Activations.TanhDerivative(z, y);
}

[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct SigmoidKernel : ILaneByLaneActivationKernel<SigmoidKernel>
{
    public static Activation Activation => Activation.Sigmoid;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Apply(float z) => Activations.Sigmoid(z);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Derivative(float z, float y) => Activations.SigmoidDerivative(z, y);
}

[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct GeluKernel : ILaneByLaneActivationKernel<GeluKernel>
{
    public static Activation Activation => Activation.Gelu;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Apply(float z) => Activations.Gelu(z);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Derivative(float z, float y) => Activations.GeluDerivative(z, y);
}

[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct SoftplusKernel : ILaneByLaneActivationKernel<SoftplusKernel>
{
    public static Activation Activation => Activation.Softplus;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Apply(float z) => Activations.Softplus(z);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Derivative(float z, float y) => Activations.SoftplusDerivative(z, y);
}
