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
/// An activation whose vector members apply its scalar rule lane by lane: the transcendental ones, whose scalar
/// rules are the definition a vector approximation would have to match bit for bit.
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
}
