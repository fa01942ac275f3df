using System.ComponentModel;
using System.Runtime.CompilerServices;

namespace FusedNets.Generated;

/// <summary>
/// One <see cref="FusedNets.Activation"/> as a type, so kernels generic over it get the rule inlined instead of a
/// switch per element: its single-precision rule (what every engine computes), the same rule on a vector of lanes,
/// and its double-precision reference, written separately so that a mistake in one is caught by the other.
/// </summary>
/// <remarks>
/// Each derivative receives both the pre-activation z and the activation y = f(z), which the forward saves, so that
/// no rule recomputes an exponential it already has. At a kink (ReLU's z = 0) the derivative takes the left slope,
/// as PyTorch does.
/// </remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public interface IActivationKernel
{
    static abstract Activation Activation { get; }

    /// <summary>True for the ReLU family, initialized with He's scheme; the rest use Glorot's.</summary>
    static abstract bool ReluFamily { get; }

    static abstract float Apply(float z);

    static abstract float Derivative(float z, float y);

    static abstract TVector Apply<TVector, TOps>(TVector z)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>;

    static abstract TVector Derivative<TVector, TOps>(TVector z, TVector y)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>;

    /// <summary>y = f(z) in double precision.</summary>
    static abstract double Reference(double z);

    /// <summary>dy/dz in double precision, given y = f(z).</summary>
    static abstract double ReferenceDerivative(double z, double y);

    // Second and third derivatives, for physics-informed training (docs/pde.md): carrying second derivatives of the
    // network with respect to its inputs forward through y = f(z) takes f''; differentiating that propagation
    // backward, to the weights, takes f'''. The piecewise-linear activations have 0 for both wherever they are
    // differentiable at all.

    /// <summary>d²y/dz² given y = f(z).</summary>
    static abstract float SecondDerivative(float z, float y);

    /// <summary>d³y/dz³ given y = f(z).</summary>
    static abstract float ThirdDerivative(float z, float y);

    static abstract TVector SecondDerivative<TVector, TOps>(TVector z, TVector y)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>;

    static abstract TVector ThirdDerivative<TVector, TOps>(TVector z, TVector y)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>;

    /// <summary>d²y/dz² in double precision, given y = f(z).</summary>
    static abstract double ReferenceSecondDerivative(double z, double y);

    /// <summary>d³y/dz³ in double precision, given y = f(z).</summary>
    static abstract double ReferenceThirdDerivative(double z, double y);

    /// <summary>
    /// Where f takes its one minimum, for interval bounds (<see cref="ActivationIntervals{TActivation}"/>); −∞ for an
    /// activation that never decreases, whose bounds over an interval are its values at the interval's ends.
    /// </summary>
    static abstract double ReferenceMinimumAt { get; }

    /// <summary>
    /// How far the float rule may be from f, in units of 2⁻²⁴: |Apply(z) − f(z)| ≤ e · 2⁻²⁴ · (|z| + |f(z)|) + e · 2⁻¹²⁶
    /// with e this value. Zero only for a rule computed exactly (identity, ReLU); interval bounds are widened by it.
    /// </summary>
    static abstract float FloatErrorUlps { get; }
}

/// <summary>
/// An activation whose vector members apply its scalar rule lane by lane: those whose scalar rules call the C
/// library (MathF.Exp, MathF.Tanh), whose bits a vector approximation would have to match. Tanh instead has an
/// arithmetic of its own, written once over the vector operations (<see cref="TanhKernel"/>).
/// </summary>
/// <remarks>
/// The piecewise-linear activations (identity, ReLU, leaky ReLU) instead write their rule once more as a lane-wise
/// select: they run on every element of every layer, a scalar loop there would cost as much as a small layer's
/// product, and a select is the exact same comparison and multiply. A test checks them bit for bit against the scalar
/// rules on ordinary and special values (±0, ±∞, NaN).
/// </remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public interface ILaneByLaneActivationKernel<TSelf> : IActivationKernel
    where TSelf : ILaneByLaneActivationKernel<TSelf>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe TVector IActivationKernel.Apply<TVector, TOps>(TVector z)
    {
        TVector result = z;
        float* lanes = (float*)&result;
        for (int j = 0; j < TOps.Count; j++)
        {
            lanes[j] = TSelf.Apply(lanes[j]);
        }

        return result;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe TVector IActivationKernel.Derivative<TVector, TOps>(TVector z, TVector y)
    {
        TVector result = z;
        float* lanes = (float*)&result;
        float* outputs = (float*)&y;
        for (int j = 0; j < TOps.Count; j++)
        {
            lanes[j] = TSelf.Derivative(lanes[j], outputs[j]);
        }

        return result;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe TVector IActivationKernel.SecondDerivative<TVector, TOps>(TVector z, TVector y)
    {
        TVector result = z;
        float* lanes = (float*)&result;
        float* outputs = (float*)&y;
        for (int j = 0; j < TOps.Count; j++)
        {
            lanes[j] = TSelf.SecondDerivative(lanes[j], outputs[j]);
        }

        return result;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe TVector IActivationKernel.ThirdDerivative<TVector, TOps>(TVector z, TVector y)
    {
        TVector result = z;
        float* lanes = (float*)&result;
        float* outputs = (float*)&y;
        for (int j = 0; j < TOps.Count; j++)
        {
            lanes[j] = TSelf.ThirdDerivative(lanes[j], outputs[j]);
        }

        return result;
    }
}
