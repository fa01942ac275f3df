using FusedNets.Generated;
using System.ComponentModel;
using ILGPU;
using ILGPU.Runtime;

namespace FusedNets.Gpu;

/// <summary>The sizes of a convolution, the value its kernels are specialized on: every division by a size then divides by a constant.</summary>
/// <remarks>Public because ILGPU's specializing launcher, emitted at run time, declares a field of it.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly record struct Conv2DShape(int Channels, int Height, int Width, int Filters, int OutHeight, int OutWidth, int Kernel, int Stride, int Padding)
{
    internal static Conv2DShape Of(Conv2DLayerArchitecture layer) => new(
        layer.InputShape.Channels, layer.InputShape.Height, layer.InputShape.Width,
        layer.Filters, layer.OutputShape.Height, layer.OutputShape.Width,
        layer.Kernel, layer.Stride, layer.Padding);
}

/// <summary>
/// A convolution's kernels, direct (no im2col buffer): y = f(z), z[f, oy, ox] = b[f] + Σ_{c, i, j} W[f, c, i, j] ·
/// x[c, oy·S + i − P, ox·S + j − P], zero outside the image, as PyTorch's <c>nn.Conv2d</c>. Every output value of every
/// phase is one thread's fixed chain of operations, or one group's fixed reduction tree, so results do not depend on
/// scheduling, and nothing is accumulated with atomics.
/// </summary>
internal static class Conv2DKernels
{
    /// <summary>Threads of a weight-gradient group; each group reduces one weight's (or one bias's) gradient.</summary>
    public const int ReductionThreads = 128;

    // x: (B, C, H, W), W: (F, C, K, K), b: (F), z and y: (B, F, OH, OW).
    // Forward: one thread per output value, z = b[f] + Σ_{c, i, j} W[f, c, i, j] x[s, c, oy·S + i − P, ox·S + j − P]; y = f(z).
    // Saves z and y for the backward.
    public static void Forward<TActivation>(
        Index1D index,
        ArrayView<int> status,
        ArrayView<float> x,
        ArrayView<float> w,
        ArrayView<float> b,
        ArrayView<float> z,
        ArrayView<float> y,
        SpecializedValue<Conv2DShape> shape)
        where TActivation : struct, IActivationKernel
    {
        if (status[0] != 0)
        {
            return;
        }

        Conv2DShape g = shape.Value;
        int ox = index % g.OutWidth, oy = index / g.OutWidth % g.OutHeight;
        int f = index / (g.OutWidth * g.OutHeight) % g.Filters, s = index / (g.OutWidth * g.OutHeight * g.Filters);
        float sum = b[f];
        for (int c = 0; c < g.Channels; c++)
        {
            for (int i = 0; i < g.Kernel; i++)
            {
                int iy = oy * g.Stride + i - g.Padding;
                if (iy < 0 || iy >= g.Height)
                {
                    continue;
                }

                for (int j = 0; j < g.Kernel; j++)
                {
                    int ix = ox * g.Stride + j - g.Padding;
                    if (ix >= 0 && ix < g.Width)
                    {
                        sum += w[((f * g.Channels + c) * g.Kernel + i) * g.Kernel + j] * x[((s * g.Channels + c) * g.Height + iy) * g.Width + ix];
                    }
                }
            }
        }

        z[index] = sum;
        y[index] = TActivation.Apply(sum);
    }

    // Backward of z[f, oy, ox] = b[f] + Σ_{c, i, j} W[f, c, i, j] x[c, oy·S + i − P, ox·S + j − P] to x, fused with the
    // activation derivative of the layer below, whose dz it writes. One thread per input value, gathering every output
    // position whose window covers it: dx[s, c, iy, ix] = Σ_{f, i, j} W[f, c, i, j] dz[s, f, oy, ox] over oy·S + i − P = iy
    // and ox·S + j − P = ix; dzBelow = dx ⊙ f'below(zBelow, yBelow). dz: (B, F, OH, OW); dzBelow: (B, C, H, W).
    public static void Backward<TBelow>(
        Index1D index,
        ArrayView<int> status,
        ArrayView<float> w,
        ArrayView<float> dz,
        ArrayView<float> zBelow,
        ArrayView<float> yBelow,
        ArrayView<float> dzBelow,
        SpecializedValue<Conv2DShape> shape)
        where TBelow : struct, IActivationKernel
    {
        if (status[0] != 0)
        {
            return;
        }

        Conv2DShape g = shape.Value;
        int ix = index % g.Width, iy = index / g.Width % g.Height;
        int c = index / (g.Width * g.Height) % g.Channels, s = index / (g.Width * g.Height * g.Channels);
        float sum = 0f;
        for (int i = 0; i < g.Kernel; i++)
        {
            // The output row whose window puts kernel row i on input row iy, if the stride lands there.
            int ty = iy + g.Padding - i;
            int oy = ty / g.Stride;
            if (ty < 0 || oy * g.Stride != ty || oy >= g.OutHeight)
            {
                continue;
            }

            for (int j = 0; j < g.Kernel; j++)
            {
                int tx = ix + g.Padding - j;
                int ox = tx / g.Stride;
                if (tx < 0 || ox * g.Stride != tx || ox >= g.OutWidth)
                {
                    continue;
                }

                for (int f = 0; f < g.Filters; f++)
                {
                    sum += w[((f * g.Channels + c) * g.Kernel + i) * g.Kernel + j] * dz[((s * g.Filters + f) * g.OutHeight + oy) * g.OutWidth + ox];
                }
            }
        }

        dzBelow[index] = sum * TBelow.Derivative(zBelow[index], yBelow[index]);
    }

    // Backward of z to W and b, fused with the optimizer step of TRule. One group of ReductionThreads per weight, then one
    // per bias:
    //   dW[f, c, i, j] = Σ_{s, oy, ox} dz[s, f, oy, ox] x[s, c, oy·S + i − P, ox·S + j − P],   db[f] = Σ_{s, oy, ox} dz[s, f, oy, ox].
    // Each thread sums a strided share of the B·OH·OW positions; the group adds the shares in a fixed tree in shared
    // memory, and its first thread applies the rule. mw and mb: the first moments of W and b (SGD's velocity, Adam's m);
    // vw and vb: their second moments (Adam's v, untouched by a rule without one); mask: (F, C, K, K), 1 where W trains
    // (read only when TMask is Masked).
    public static void Update<TMask, TRule>(
        ArrayView<int> status,
        ArrayView<float> x,
        ArrayView<float> dz,
        ArrayView<float> w,
        ArrayView<float> b,
        ArrayView<float> mw,
        ArrayView<float> mb,
        ArrayView<float> vw,
        ArrayView<float> vb,
        ArrayView<float> mask,
        TRule rule,
        SpecializedValue<Conv2DShape> shape,
        int batch,
        int step)
        where TMask : struct, IMaskMode
        where TRule : struct, IUpdateRule
    {
        if (KernelChecks.StepFailedInGroup(status))
        {
            return;
        }

        Conv2DShape g = shape.Value;
        int weights = g.Filters * g.Channels * g.Kernel * g.Kernel;
        int positions = g.OutHeight * g.OutWidth;
        int thread = Group.IdxX, weight = Grid.IdxX;
        bool isBias = weight >= weights;
        int j = weight % g.Kernel, i = weight / g.Kernel % g.Kernel;
        int c = weight / (g.Kernel * g.Kernel) % g.Channels, f = isBias ? weight - weights : weight / (g.Kernel * g.Kernel * g.Channels);
        float sum = 0f;
        for (int p = thread; p < batch * positions; p += ReductionThreads)
        {
            int s = p / positions, ox = p % g.OutWidth, oy = p / g.OutWidth % g.OutHeight;
            float delta = dz[(s * g.Filters + f) * positions + oy * g.OutWidth + ox];
            if (isBias)
            {
                sum += delta;
                continue;
            }

            int iy = oy * g.Stride + i - g.Padding, ix = ox * g.Stride + j - g.Padding;
            if (iy >= 0 && iy < g.Height && ix >= 0 && ix < g.Width)
            {
                sum += delta * x[((s * g.Channels + c) * g.Height + iy) * g.Width + ix];
            }
        }

        float gradient = GroupSum(sum, thread);
        if (thread != 0)
        {
            return;
        }

        if (isBias)
        {
            b[f] = rule.UpdateBias(b[f], ref mb[f], ref vb[f], gradient);
            KernelChecks.FlagIfNotFinite<TRule>(status, step, b[f], mb[f], vb[f]);
            return;
        }

        if (TMask.IsMasked)
        {
            gradient *= mask[weight];
        }

        w[weight] = rule.UpdateWeight(w[weight], ref mw[weight], ref vw[weight], gradient);
        KernelChecks.FlagIfNotFinite<TRule>(status, step, w[weight], mw[weight], vw[weight]);
    }

    // Interval bound propagation (docs/research.md), one thread per output as the forward: over the window's taps inside
    // the image, with c = lo/2 + hi/2 and r = hi/2 − lo/2 of x's bounds, z lies in [μ − ρ, μ + ρ], μ = b + Σ W c,
    // ρ = Σ |W| r, widened by relative · (|b| + Σ |W| (|c| + r)) + absolute · (1 + Σ |W|); then y's bounds by f's rule
    // (certified training: no margins, the unwidened rule, z's bounds saved for the backward).
    // lower, upper: (B, C, H, W); zLower, zUpper, yLower, yUpper: (B, F, OH, OW).
    public static void IntervalForward<TActivation>(
        Index1D index,
        ArrayView<float> lower,
        ArrayView<float> upper,
        ArrayView<float> w,
        ArrayView<float> b,
        ArrayView<float> zLower,
        ArrayView<float> zUpper,
        ArrayView<float> yLower,
        ArrayView<float> yUpper,
        IntervalRule rule,
        float relative,
        float absolute,
        SpecializedValue<Conv2DShape> shape)
        where TActivation : struct, IActivationKernel
    {
        Conv2DShape g = shape.Value;
        int ox = index % g.OutWidth, oy = index / g.OutWidth % g.OutHeight;
        int f = index / (g.OutWidth * g.OutHeight) % g.Filters, s = index / (g.OutWidth * g.OutHeight * g.Filters);
        float center = 0f, radius = 0f, scale = 0f, weights = 0f;
        for (int c = 0; c < g.Channels; c++)
        {
            for (int i = 0; i < g.Kernel; i++)
            {
                int iy = oy * g.Stride + i - g.Padding;
                if (iy < 0 || iy >= g.Height)
                {
                    continue;
                }

                for (int j = 0; j < g.Kernel; j++)
                {
                    int ix = ox * g.Stride + j - g.Padding;
                    if (ix >= 0 && ix < g.Width)
                    {
                        float weight = w[((f * g.Channels + c) * g.Kernel + i) * g.Kernel + j], magnitude = weight > 0f ? weight : -weight;
                        int at = ((s * g.Channels + c) * g.Height + iy) * g.Width + ix;
                        float lo = lower[at], hi = upper[at];
                        float middle = 0.5f * lo + 0.5f * hi, half = 0.5f * hi - 0.5f * lo;
                        center += weight * middle;
                        radius += magnitude * half;
                        scale += magnitude * ((middle > 0f ? middle : -middle) + half);
                        weights += magnitude;
                    }
                }
            }
        }

        float bias = b[f];
        radius += relative * ((bias > 0f ? bias : -bias) + scale) + absolute * (1f + weights);
        center += bias;
        zLower[index] = center - radius;
        zUpper[index] = center + radius;
        rule.Bounds<TActivation>(center - radius, center + radius, out float yLo, out float yHi);
        yLower[index] = yLo;
        yUpper[index] = yHi;
    }

    // Certified training's backward of the bounds to the layer below, fused with its interval rule; one thread per input
    // value, gathering as the backward: from μ = b + Σ W c and ρ = Σ |W| r, dc[s, c, iy, ix] = Σ_{f, i, j} W[f, c, i, j]
    // dμ[s, f, oy, ox] and dr = the same sum over |W| and dρ; dL/dlo = (dc − dr) / 2 and dL/dhi = (dc + dr) / 2 of the y
    // bounds below, which the below rule at its z bounds turns into its dμ and dρ. dμ, dρ: (B, F, OH, OW); the rest (B, C, H, W).
    public static void IntervalBackward<TBelow>(
        Index1D index,
        ArrayView<float> w,
        ArrayView<float> centerGradients,
        ArrayView<float> radiusGradients,
        ArrayView<float> zLowerBelow,
        ArrayView<float> zUpperBelow,
        IntervalRule below,
        ArrayView<float> belowCenterGradients,
        ArrayView<float> belowRadiusGradients,
        SpecializedValue<Conv2DShape> shape)
        where TBelow : struct, IActivationKernel
    {
        Conv2DShape g = shape.Value;
        int ix = index % g.Width, iy = index / g.Width % g.Height;
        int c = index / (g.Width * g.Height) % g.Channels, s = index / (g.Width * g.Height * g.Channels);
        float dc = 0f, dr = 0f;
        for (int i = 0; i < g.Kernel; i++)
        {
            int ty = iy + g.Padding - i;
            int oy = ty / g.Stride;
            if (ty < 0 || oy * g.Stride != ty || oy >= g.OutHeight)
            {
                continue;
            }

            for (int j = 0; j < g.Kernel; j++)
            {
                int tx = ix + g.Padding - j;
                int ox = tx / g.Stride;
                if (tx < 0 || ox * g.Stride != tx || ox >= g.OutWidth)
                {
                    continue;
                }

                for (int f = 0; f < g.Filters; f++)
                {
                    float weight = w[((f * g.Channels + c) * g.Kernel + i) * g.Kernel + j];
                    int at = ((s * g.Filters + f) * g.OutHeight + oy) * g.OutWidth + ox;
                    dc += weight * centerGradients[at];
                    dr += (weight > 0f ? weight : -weight) * radiusGradients[at];
                }
            }
        }

        below.Backward<TBelow>(zLowerBelow[index], zUpperBelow[index], 0.5f * (dc - dr), 0.5f * (dc + dr), out float centerGradient, out float radiusGradient);
        belowCenterGradients[index] = centerGradient;
        belowRadiusGradients[index] = radiusGradient;
    }

    // Certified training's backward of μ = b + Σ W c, ρ = Σ |W| r to W and b, fused with the optimizer step of TRule; one
    // group per weight, then one per bias, reducing as the update does:
    //   dW[f, c, i, j] = Σ_{s, oy, ox} dμ[s, f, oy, ox] c[s, c, iy, ix] + sign(W[f, c, i, j]) dρ[s, f, oy, ox] r[s, c, iy, ix],
    //   db[f] = Σ_{s, oy, ox} dμ[s, f, oy, ox],   (iy, ix) = (oy·S + i − P, ox·S + j − P),
    // c and r the center and radius of the input bounds lower, upper (B, C, H, W). Moments and mask as in the update.
    public static void IntervalUpdate<TMask, TRule>(
        ArrayView<int> status,
        ArrayView<float> lower,
        ArrayView<float> upper,
        ArrayView<float> centerGradients,
        ArrayView<float> radiusGradients,
        ArrayView<float> w,
        ArrayView<float> b,
        ArrayView<float> mw,
        ArrayView<float> mb,
        ArrayView<float> vw,
        ArrayView<float> vb,
        ArrayView<float> mask,
        TRule rule,
        SpecializedValue<Conv2DShape> shape,
        int batch,
        int step)
        where TMask : struct, IMaskMode
        where TRule : struct, IUpdateRule
    {
        if (KernelChecks.StepFailedInGroup(status))
        {
            return;
        }

        Conv2DShape g = shape.Value;
        int weights = g.Filters * g.Channels * g.Kernel * g.Kernel;
        int positions = g.OutHeight * g.OutWidth;
        int thread = Group.IdxX, weight = Grid.IdxX;
        bool isBias = weight >= weights;
        int j = weight % g.Kernel, i = weight / g.Kernel % g.Kernel;
        int c = weight / (g.Kernel * g.Kernel) % g.Channels, f = isBias ? weight - weights : weight / (g.Kernel * g.Kernel * g.Channels);
        float centerSum = 0f, radiusSum = 0f;
        for (int p = thread; p < batch * positions; p += ReductionThreads)
        {
            int s = p / positions, ox = p % g.OutWidth, oy = p / g.OutWidth % g.OutHeight;
            int at = (s * g.Filters + f) * positions + oy * g.OutWidth + ox;
            if (isBias)
            {
                centerSum += centerGradients[at];
                continue;
            }

            int iy = oy * g.Stride + i - g.Padding, ix = ox * g.Stride + j - g.Padding;
            if (iy >= 0 && iy < g.Height && ix >= 0 && ix < g.Width)
            {
                int input = ((s * g.Channels + c) * g.Height + iy) * g.Width + ix;
                float lo = lower[input], hi = upper[input];
                centerSum += centerGradients[at] * (0.5f * lo + 0.5f * hi);
                radiusSum += radiusGradients[at] * (0.5f * hi - 0.5f * lo);
            }
        }

        float centerGradient = GroupSum(centerSum, thread);
        float radiusGradient = GroupSum(radiusSum, thread);
        if (thread != 0)
        {
            return;
        }

        if (isBias)
        {
            b[f] = rule.UpdateBias(b[f], ref mb[f], ref vb[f], centerGradient);
            KernelChecks.FlagIfNotFinite<TRule>(status, step, b[f], mb[f], vb[f]);
            return;
        }

        float current = w[weight];
        float gradient = centerGradient + (current > 0f ? radiusGradient : current < 0f ? -radiusGradient : 0f);
        if (TMask.IsMasked)
        {
            gradient *= mask[weight];
        }

        w[weight] = rule.UpdateWeight(current, ref mw[weight], ref vw[weight], gradient);
        KernelChecks.FlagIfNotFinite<TRule>(status, step, w[weight], mw[weight], vw[weight]);
    }

    /// <summary>The sum of every thread's <paramref name="value"/> over a group of <see cref="ReductionThreads"/>, pairwise in a fixed order; valid in thread 0.</summary>
    private static float GroupSum(float value, int thread)
    {
        ArrayView<float> partial = SharedMemory.Allocate<float>(ReductionThreads);
        partial[thread] = value;
        Group.Barrier();
        for (int half = ReductionThreads / 2; half > 0; half /= 2)
        {
            if (thread < half)
            {
                partial[thread] += partial[thread + half];
            }

            Group.Barrier();
        }

        return partial[0];
    }
}
