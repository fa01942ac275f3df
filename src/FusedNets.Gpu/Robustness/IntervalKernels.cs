using System.ComponentModel;
using FusedNets.Generated;
using ILGPU;

namespace FusedNets.Gpu;

/// <summary>
/// An activation's interval rule in kernel code (the core's <c>ActivationIntervals</c>, whose constants are static fields
/// that kernels cannot read): the bounds of f over [lo, hi] are the smaller and the larger of f(lo) and f(hi), or the
/// minimum where [lo, hi] holds it, widened by the float rule's error.
/// </summary>
/// <remarks>Public because ILGPU's launchers, emitted at run time, declare a field of every kernel parameter's type.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct IntervalRule
{
    private readonly int _hasMinimum;
    private readonly float _minimumLow, _minimumHigh, _minimum, _widening, _wideningFloor;

    internal IntervalRule(Activation activation)
    {
        FloatIntervalRule rule = Activations.Rule(activation).FloatIntervalRule;
        _hasMinimum = rule.HasMinimum ? 1 : 0;
        (_minimumLow, _minimumHigh, _minimum, _widening, _wideningFloor) = (rule.MinimumLow, rule.MinimumHigh, rule.Minimum, rule.Widening, rule.WideningFloor);
    }

    /// <summary>y's bounds for z in [<paramref name="lo"/>, <paramref name="hi"/>], sound for f and its float rule.</summary>
    internal void Bounds<TActivation>(float lo, float hi, out float lower, out float upper)
        where TActivation : struct, IActivationKernel
    {
        float fLo = TActivation.Apply(lo), fHi = TActivation.Apply(hi);
        lower = fLo > fHi ? fHi : fLo;
        upper = fLo > fHi ? fLo : fHi;
        if (_hasMinimum != 0 && !(lo > _minimumHigh) && !(_minimumLow > hi))
        {
            lower = _minimum;
        }

        float scale = Larger(Magnitude(lo), Magnitude(hi)) + Larger(Magnitude(lower), Magnitude(upper));
        float widening = scale * _widening + _wideningFloor;
        lower -= widening;
        upper += widening;
    }

    private static float Magnitude(float x) => x > 0f ? x : -x;

    private static float Larger(float a, float b) => a > b ? a : b;
}

/// <summary>The kernels of the robustness and attribution operations that belong to no layer kind.</summary>
internal static class IntervalKernels
{
    // z, y, v and dz: (B, Out). The vector-Jacobian product's seed: the output layer's dz = v ⊙ f'(z, y), in place of the loss's gradient.
    public static void Seed<TOutput>(Index1D index, ArrayView<float> z, ArrayView<float> y, ArrayView<float> v, ArrayView<float> dz)
        where TOutput : struct, IActivationKernel =>
        dz[index] = v[index] * TOutput.Derivative(z[index], y[index]);
}
