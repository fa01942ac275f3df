using System.Runtime.CompilerServices;
using FusedNets.Backends.Cpu;
using FusedNets.Generated;

namespace FusedNets;

/// <summary>
/// Interval bound propagation through an activation: the bounds of y = f(z) for every z in [lo, hi], and their
/// gradient. Every activation here is non-decreasing, except GELU, which falls to one minimum and rises again
/// (<see cref="IActivationKernel.ReferenceMinimumAt"/>); one rule covers both: the upper bound is the larger of
/// f(lo) and f(hi), the lower bound the smaller of them, or the minimum itself when [lo, hi] holds it.
/// </summary>
/// <remarks>
/// The float rule is sound, when asked to be, for f and for the activation's float rule alike: the bounds are widened
/// by three times the rule's stated error (<see cref="IActivationKernel.FloatErrorUlps"/>) at the larger of the ends,
/// once for an end's own value, once for a value inside, and once for the rounding of the widening. Training asks for
/// the bounds unwidened, as the reference computes them.
/// </remarks>
internal static class ActivationIntervals<TActivation>
    where TActivation : struct, IActivationKernel
{
    private static readonly bool s_hasMinimum = !double.IsNegativeInfinity(TActivation.ReferenceMinimumAt);

    // The float neighbours around where f has its minimum, and f there rounded down.
    private static readonly float s_minimumLow = MathF.BitDecrement((float)TActivation.ReferenceMinimumAt);
    private static readonly float s_minimumHigh = MathF.BitIncrement((float)TActivation.ReferenceMinimumAt);
    private static readonly float s_minimum = RoundedDown(TActivation.Reference(TActivation.ReferenceMinimumAt));

    private static readonly float s_widening = 3 * TActivation.FloatErrorUlps * IntervalRounding.Unit;
    private static readonly float s_wideningFloor = 3 * TActivation.FloatErrorUlps * IntervalRounding.SmallestNormal;

    /// <summary>The float rule's constants, for kernels that cannot read this class's fields (the GPU package's).</summary>
    public static FloatIntervalRule FloatRule => new(s_hasMinimum, s_minimumLow, s_minimumHigh, s_minimum, s_widening, s_wideningFloor);

    /// <summary>The exact rule in double precision, for the reference.</summary>
    public static (double Lower, double Upper) Reference(double lo, double hi)
    {
        double fLo = TActivation.Reference(lo), fHi = TActivation.Reference(hi);
        double lower = fLo > fHi ? fHi : fLo;
        if (s_hasMinimum && lo <= TActivation.ReferenceMinimumAt && TActivation.ReferenceMinimumAt <= hi)
        {
            lower = TActivation.Reference(TActivation.ReferenceMinimumAt);
        }

        return (lower, fLo > fHi ? fLo : fHi);
    }

    /// <summary>
    /// The gradient of <see cref="Reference"/>: d/dlo and d/dhi from d/dlower and d/dupper. Each bound is the value at one
    /// end (ties: the lower bound at lo, the upper at hi), or the constant minimum.
    /// </summary>
    public static (double DLo, double DHi) ReferenceBackward(double lo, double hi, double dLower, double dUpper)
    {
        double fLo = TActivation.Reference(lo), fHi = TActivation.Reference(hi);
        double slopeLo = TActivation.ReferenceDerivative(lo, fLo), slopeHi = TActivation.ReferenceDerivative(hi, fHi);
        bool lowerAtMinimum = s_hasMinimum && lo <= TActivation.ReferenceMinimumAt && TActivation.ReferenceMinimumAt <= hi;
        double dLo = 0, dHi = 0;
        if (!lowerAtMinimum)
        {
            if (fLo > fHi)
            {
                dHi += dLower * slopeHi;
            }
            else
            {
                dLo += dLower * slopeLo;
            }
        }

        if (fLo > fHi)
        {
            dLo += dUpper * slopeLo;
        }
        else
        {
            dHi += dUpper * slopeHi;
        }

        return (dLo, dHi);
    }

    /// <summary>
    /// The float rule on a vector of intervals: [<paramref name="lower"/>, <paramref name="upper"/>] bounds f(z) for z in
    /// [<paramref name="lo"/>, <paramref name="hi"/>], lane by lane; <paramref name="widen"/> makes it sound for f and
    /// its float rule (see the remarks).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Bounds<TVector, TOps>(TVector lo, TVector hi, bool widen, out TVector lower, out TVector upper)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        TVector fLo = TActivation.Apply<TVector, TOps>(lo), fHi = TActivation.Apply<TVector, TOps>(hi);
        lower = TOps.WhereGreater(fLo, fHi, fHi, fLo);
        upper = TOps.WhereGreater(fLo, fHi, fLo, fHi);
        if (s_hasMinimum)
        {
            // Unless lo lies above the minimum or hi below it, the minimum is in [lo, hi].
            TVector minimum = TOps.Broadcast(s_minimum);
            lower = TOps.WhereGreater(lo, TOps.Broadcast(s_minimumHigh), lower, TOps.WhereGreater(TOps.Broadcast(s_minimumLow), hi, lower, minimum));
        }

        if (widen && TActivation.FloatErrorUlps != 0)
        {
            TVector scale = TOps.Add(IntervalVectors.Max<TVector, TOps>(IntervalVectors.Abs<TVector, TOps>(lo), IntervalVectors.Abs<TVector, TOps>(hi)), IntervalVectors.Max<TVector, TOps>(IntervalVectors.Abs<TVector, TOps>(lower), IntervalVectors.Abs<TVector, TOps>(upper)));
            TVector widening = TOps.MultiplyAdd(scale, TOps.Broadcast(s_widening), TOps.Broadcast(s_wideningFloor));
            lower = TOps.Subtract(lower, widening);
            upper = TOps.Add(upper, widening);
        }
    }

    /// <summary>The gradient of the unwidened <see cref="Bounds"/>, as <see cref="ReferenceBackward"/> takes it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Backward<TVector, TOps>(TVector lo, TVector hi, TVector dLower, TVector dUpper, out TVector dLo, out TVector dHi)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        TVector fLo = TActivation.Apply<TVector, TOps>(lo), fHi = TActivation.Apply<TVector, TOps>(hi);
        TVector slopeLo = TActivation.Derivative<TVector, TOps>(lo, fLo), slopeHi = TActivation.Derivative<TVector, TOps>(hi, fHi);
        if (s_hasMinimum)
        {
            // The constant minimum passes no gradient back.
            dLower = TOps.WhereGreater(lo, TOps.Broadcast(s_minimumHigh), dLower, TOps.WhereGreater(TOps.Broadcast(s_minimumLow), hi, dLower, default));
        }

        TVector lowerGradient = TOps.Multiply(dLower, TOps.WhereGreater(fLo, fHi, slopeHi, slopeLo));
        TVector upperGradient = TOps.Multiply(dUpper, TOps.WhereGreater(fLo, fHi, slopeLo, slopeHi));
        dLo = TOps.Add(TOps.WhereGreater(fLo, fHi, default, lowerGradient), TOps.WhereGreater(fLo, fHi, upperGradient, default));
        dHi = TOps.Add(TOps.WhereGreater(fLo, fHi, lowerGradient, default), TOps.WhereGreater(fLo, fHi, default, upperGradient));
    }

    private static float RoundedDown(double value)
    {
        float rounded = (float)value;
        return rounded > value ? MathF.BitDecrement(rounded) : rounded;
    }
}

/// <summary>
/// An activation's interval constants (<see cref="ActivationIntervals{TActivation}"/>): whether it has a minimum, the float
/// bracket around where it lies and a lower bound on it, and the widening per unit of |z| + |f(z)| and its floor.
/// </summary>
internal readonly record struct FloatIntervalRule(bool HasMinimum, float MinimumLow, float MinimumHigh, float Minimum, float Widening, float WideningFloor);
