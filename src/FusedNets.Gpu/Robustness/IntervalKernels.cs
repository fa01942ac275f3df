using System.ComponentModel;
using FusedNets.Generated;
using ILGPU;
using ILGPU.Runtime;

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

    /// <summary>The rule of <paramref name="activation"/>; unless <paramref name="widen"/>, the exact rule that training differentiates.</summary>
    internal IntervalRule(Activation activation, bool widen = true)
    {
        FloatIntervalRule rule = Activations.Rule(activation).FloatIntervalRule;
        _hasMinimum = rule.HasMinimum ? 1 : 0;
        (_minimumLow, _minimumHigh, _minimum) = (rule.MinimumLow, rule.MinimumHigh, rule.Minimum);
        (_widening, _wideningFloor) = widen ? (rule.Widening, rule.WideningFloor) : (0f, 0f);
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

    /// <summary>
    /// The gradient of the unwidened <see cref="Bounds"/> (the core's <c>ActivationIntervals.Backward</c>): from dL/d(lower,
    /// upper) of y to dμ = dlo + dhi and dρ = dhi − dlo of z's bounds [lo, hi] = [μ − ρ, μ + ρ]. Each bound is f at one end
    /// (ties: the lower at lo, the upper at hi), or the constant minimum, which passes no gradient back.
    /// </summary>
    internal void Backward<TActivation>(float lo, float hi, float dLower, float dUpper, out float centerGradient, out float radiusGradient)
        where TActivation : struct, IActivationKernel
    {
        float fLo = TActivation.Apply(lo), fHi = TActivation.Apply(hi);
        float slopeLo = TActivation.Derivative(lo, fLo), slopeHi = TActivation.Derivative(hi, fHi);
        if (_hasMinimum != 0 && !(lo > _minimumHigh) && !(_minimumLow > hi))
        {
            dLower = 0f;
        }

        // Where f falls from lo to hi, the lower bound is f(hi) and the upper f(lo).
        bool falls = fLo > fHi;
        float dLo = (falls ? dUpper : dLower) * slopeLo;
        float dHi = (falls ? dLower : dUpper) * slopeHi;
        centerGradient = dLo + dHi;
        radiusGradient = dHi - dLo;
    }

    private static float Magnitude(float x) => x > 0f ? x : -x;

    private static float Larger(float a, float b) => a > b ? a : b;
}

/// <summary>
/// The kernels of the robustness and attribution operations that belong to no layer kind, and certified training's loss
/// (Gowal et al. 2018, docs/research.md): log Σ_k exp(d_k) of each sample's worst-case logit differences d (d_label = 0)
/// over its box, weighted per sample (a point's box has radius 0, and its interval loss is the ordinary loss).
/// </summary>
internal static class IntervalKernels
{
    // z, y, v and dz: (B, Out). The vector-Jacobian product's seed: the output layer's dz = v ⊙ f'(z, y), in place of the loss's gradient.
    public static void Seed<TOutput>(Index1D index, ArrayView<float> z, ArrayView<float> y, ArrayView<float> v, ArrayView<float> dz)
        where TOutput : struct, IActivationKernel =>
        dz[index] = v[index] * TOutput.Derivative(z[index], y[index]);

    // Without elision: d_k = upper_k − lower_label of the outputs' bounds. One thread per sample: its loss into losses, and
    // dμ, dρ of the last layer's z bounds through its activation's (unwidened) interval rule, for the loss weighted by
    // pointWeight for the first `points` samples and boxWeight for the rest. zLower, zUpper, yLower, yUpper, differences
    // (scratch), dμ and dρ: (B, Out); labels and losses: (B).
    public static void OutputLoss<TOutput>(
        Index1D sample,
        ArrayView<int> status,
        ArrayView<float> zLower,
        ArrayView<float> zUpper,
        ArrayView<float> yLower,
        ArrayView<float> yUpper,
        ArrayView<int> labels,
        IntervalRule output,
        ArrayView<float> differences,
        ArrayView<float> losses,
        ArrayView<float> centerGradients,
        ArrayView<float> radiusGradients,
        SpecializedValue<int> outputs,
        int points,
        float pointWeight,
        float boxWeight)
        where TOutput : struct, IActivationKernel
    {
        int label = labels[sample], row = sample * outputs;
        float worstLabel = yLower[row + label];
        for (int k = 0; k < outputs; k++)
        {
            differences[row + k] = k == label ? 0f : yUpper[row + k] - worstLabel;
        }

        float loss = SoftmaxOfDifferences(differences.SubView(row, outputs), label, sample < points ? pointWeight : boxWeight);
        losses[sample] = loss;
        KernelChecks.FlagIfNotFinite(status, 0, loss);

        // d_k = upper_k − lower_label: dL/dupper_k = g_k, dL/dlower_label = −Σ_k g_k.
        float labelGradient = 0f;
        for (int k = 0; k < outputs; k++)
        {
            labelGradient -= differences[row + k];
        }

        for (int k = 0; k < outputs; k++)
        {
            output.Backward<TOutput>(zLower[row + k], zUpper[row + k], k == label ? labelGradient : 0f, differences[row + k], out float centerGradient, out float radiusGradient);
            centerGradients[row + k] = centerGradient;
            radiusGradients[row + k] = radiusGradient;
        }
    }

    // With elision (the last layer dense with the identity, Gowal et al. 2018): over the bounds [lower, upper] (B, In) of
    // the last layer's input h, with c and r their center and radius,
    //   d_k = max over h of (W_k − W_label) h + b_k − b_label = Σ_i (W_k − W_label)_i c_i + |W_k − W_label|_i r_i + b_k − b_label.
    // One thread per sample: its loss into losses and dL/dd (weighted as in OutputLoss) into differences (B, Out).
    public static void ElidedLoss(
        Index1D sample,
        ArrayView<int> status,
        ArrayView<float> lower,
        ArrayView<float> upper,
        ArrayView<float> w,
        ArrayView<float> b,
        ArrayView<int> labels,
        ArrayView<float> differences,
        ArrayView<float> losses,
        SpecializedValue<DenseShape> shape,
        int points,
        float pointWeight,
        float boxWeight)
    {
        int inputs = shape.Value.Inputs, outputs = shape.Value.Units;
        int label = labels[sample], row = sample * outputs;
        for (int k = 0; k < outputs; k++)
        {
            float d = 0f;
            for (int i = 0; k != label && i < inputs; i++)
            {
                float difference = w[k * inputs + i] - w[label * inputs + i];
                float lo = lower[sample * inputs + i], hi = upper[sample * inputs + i];
                d += difference * (0.5f * lo + 0.5f * hi) + (difference > 0f ? difference : -difference) * (0.5f * hi - 0.5f * lo);
            }

            differences[row + k] = k == label ? 0f : d + (b[k] - b[label]);
        }

        float loss = SoftmaxOfDifferences(differences.SubView(row, outputs), label, sample < points ? pointWeight : boxWeight);
        losses[sample] = loss;
        KernelChecks.FlagIfNotFinite(status, 0, loss);
    }

    // The elided differences' backward to h's bounds, fused with the rule of the layer below (the one that computes h).
    // One thread per (sample, input) of the last layer: with g = dL/dd,
    //   dc_i = Σ_{k ≠ label} g_k (W_k − W_label)_i,   dr_i = Σ_{k ≠ label} g_k |W_k − W_label|_i,
    // dL/dlo = (dc − dr) / 2 and dL/dhi = (dc + dr) / 2, which the below rule at its z bounds (B, In) turns into its dμ, dρ.
    public static void ElidedBackward<TBelow>(
        Index1D index,
        ArrayView<float> w,
        ArrayView<int> labels,
        ArrayView<float> differences,
        ArrayView<float> zLowerBelow,
        ArrayView<float> zUpperBelow,
        IntervalRule below,
        ArrayView<float> belowCenterGradients,
        ArrayView<float> belowRadiusGradients,
        SpecializedValue<DenseShape> shape)
        where TBelow : struct, IActivationKernel
    {
        int inputs = shape.Value.Inputs, outputs = shape.Value.Units;
        int sample = index / inputs, i = index % inputs, label = labels[sample];
        float dc = 0f, dr = 0f;
        for (int k = 0; k < outputs; k++)
        {
            float g = k == label ? 0f : differences[sample * outputs + k];
            float difference = w[k * inputs + i] - w[label * inputs + i];
            dc += g * difference;
            dr += g * (difference > 0f ? difference : -difference);
        }

        below.Backward<TBelow>(zLowerBelow[index], zUpperBelow[index], 0.5f * (dc - dr), 0.5f * (dc + dr), out float centerGradient, out float radiusGradient);
        belowCenterGradients[index] = centerGradient;
        belowRadiusGradients[index] = radiusGradient;
    }

    // The elided differences' backward to the last layer's parameters, one thread per parameter into gradients (Out·In + Out),
    // summed over the batch in order: from d_k's terms (W_k − W_label)_i c_i + |W_k − W_label|_i r_i + b_k − b_label,
    //   dW[o, i] = Σ_s [o ≠ label] g_o (c_i + sign(W_o − W_label)_i r_i) − [o = label] Σ_{k ≠ label} g_k (c_i + sign(W_k − W_o)_i r_i),
    //   db[o] = Σ_s [o ≠ label] g_o − [o = label] Σ_{k ≠ label} g_k.
    // Apart from the update (ElidedUpdate), which would change the W_label this reads.
    public static void ElidedGradient(
        Index1D parameter,
        ArrayView<float> lower,
        ArrayView<float> upper,
        ArrayView<float> w,
        ArrayView<int> labels,
        ArrayView<float> differences,
        ArrayView<float> gradients,
        SpecializedValue<DenseShape> shape,
        int batch)
    {
        int inputs = shape.Value.Inputs, outputs = shape.Value.Units;
        bool isBias = parameter >= outputs * inputs;
        int o = isBias ? parameter - outputs * inputs : parameter / inputs, i = parameter % inputs;
        float sum = 0f;
        for (int s = 0; s < batch; s++)
        {
            int label = labels[s];
            float lo = isBias ? 0f : lower[s * inputs + i], hi = isBias ? 0f : upper[s * inputs + i];
            float c = 0.5f * lo + 0.5f * hi, r = 0.5f * hi - 0.5f * lo;
            for (int k = 0; k < outputs; k++)
            {
                // The term of d_k holds W_o (o = k) or −W_o (o = label).
                if (k == label || (o != k && o != label))
                {
                    continue;
                }

                float g = differences[s * outputs + k], difference = w[k * inputs + i] - w[label * inputs + i];
                float term = isBias ? g : g * (c + (difference > 0f ? r : difference < 0f ? -r : 0f));
                sum += o == k ? term : -term;
            }
        }

        gradients[parameter] = sum;
    }

    // The optimizer step of TRule on the last layer's parameters from ElidedGradient's gradients, one thread per
    // parameter: W (Out·In) then b (Out); moments and mask as in the dense update.
    public static void ElidedUpdate<TMask, TRule>(
        Index1D parameter,
        ArrayView<int> status,
        ArrayView<float> gradients,
        ArrayView<float> w,
        ArrayView<float> b,
        ArrayView<float> mw,
        ArrayView<float> mb,
        ArrayView<float> vw,
        ArrayView<float> vb,
        ArrayView<float> mask,
        TRule rule,
        int step)
        where TMask : struct, IMaskMode
        where TRule : struct, IUpdateRule
    {
        if (status[0] != 0)
        {
            return;
        }

        int weights = w.IntLength;
        if (parameter >= weights)
        {
            int o = parameter - weights;
            b[o] = rule.UpdateBias(b[o], ref mb[o], ref vb[o], gradients[parameter]);
            KernelChecks.FlagIfNotFinite<TRule>(status, step, b[o], mb[o], vb[o]);
            return;
        }

        float gradient = TMask.IsMasked ? gradients[parameter] * mask[parameter] : gradients[parameter];
        w[parameter] = rule.UpdateWeight(w[parameter], ref mw[parameter], ref vw[parameter], gradient);
        KernelChecks.FlagIfNotFinite<TRule>(status, step, w[parameter], mw[parameter], vw[parameter]);
    }

    /// <summary>
    /// A sample's loss log Σ_k exp(d_k) from its differences <paramref name="d"/> (d_label = 0), which it overwrites with
    /// <paramref name="weight"/> · dloss/dd_k = weight · softmax(d)_k, 0 at the label (d_label is no variable).
    /// </summary>
    private static float SoftmaxOfDifferences(ArrayView<float> d, int label, float weight)
    {
        int outputs = d.IntLength;
        float largest = 0f;
        for (int k = 0; k < outputs; k++)
        {
            largest = d[k] > largest ? d[k] : largest;
        }

        float sum = 0f;
        for (int k = 0; k < outputs; k++)
        {
            sum += MathF.Exp(d[k] - largest);
        }

        for (int k = 0; k < outputs; k++)
        {
            d[k] = k == label ? 0f : MathF.Exp(d[k] - largest) / sum * weight;
        }

        return largest + MathF.Log(sum);
    }
}
