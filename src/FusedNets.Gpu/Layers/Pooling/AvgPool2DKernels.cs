using FusedNets.Generated;
using ILGPU;
using ILGPU.Runtime;

namespace FusedNets.Gpu;

/// <summary>
/// Average pooling's kernels: windows of Size × Size with stride Size, each channel on its own, no parameters and
/// no activation (z = y). Windows do not overlap: the backward gathers, one thread per input value.
/// </summary>
internal static class AvgPool2DKernels
{
    // x: (B, C, H, W), z and y: (B, C, OH, OW).
    // Forward: one thread per output, z = y = the mean of its window.
    public static void Forward(Index1D index, ArrayView<int> status, ArrayView<float> x, ArrayView<float> z, ArrayView<float> y, SpecializedValue<Pool2DShape> shape)
    {
        if (status[0] != 0)
        {
            return;
        }

        Pool2DShape g = shape.Value;
        int ox = index % g.OutWidth, oy = index / g.OutWidth % g.OutHeight, plane = index / (g.OutWidth * g.OutHeight);
        int first = (plane * g.Height + oy * g.Size) * g.Width + ox * g.Size;
        float sum = 0f;
        for (int i = 0; i < g.Size; i++)
        {
            for (int j = 0; j < g.Size; j++)
            {
                sum += x[first + i * g.Width + j];
            }
        }

        float mean = sum / (g.Size * g.Size);
        z[index] = mean;
        y[index] = mean;
    }

    // Backward of z[c, oy, ox] = mean over the window of x, fused with the activation derivative of the layer below.
    // One thread per input value: dzBelow[s, c, iy, ix] = dz[s, c, iy / S, ix / S] / S² ⊙ f'below(zBelow, yBelow); values
    // past the last whole window belong to none and get 0. dz: (B, C, OH, OW); dzBelow: (B, C, H, W).
    public static void Backward<TBelow>(
        Index1D index,
        ArrayView<int> status,
        ArrayView<float> dz,
        ArrayView<float> zBelow,
        ArrayView<float> yBelow,
        ArrayView<float> dzBelow,
        SpecializedValue<Pool2DShape> shape)
        where TBelow : struct, IActivationKernel
    {
        if (status[0] != 0)
        {
            return;
        }

        Pool2DShape g = shape.Value;
        int ix = index % g.Width, iy = index / g.Width % g.Height, plane = index / (g.Width * g.Height);
        int oy = iy / g.Size, ox = ix / g.Size;
        float gradient = oy < g.OutHeight && ox < g.OutWidth
            ? dz[(plane * g.OutHeight + oy) * g.OutWidth + ox] / (g.Size * g.Size)
            : 0f;
        dzBelow[index] = gradient * TBelow.Derivative(zBelow[index], yBelow[index]);
    }

    // Interval bound propagation: the mean is monotone, so an output's bounds are the means of its window's lower and upper
    // bounds, computed as the forward computes the mean and widened by relative · the window's largest |bound| + absolute
    // (IntervalRounding.MeanRelative), which covers any order of the sum. lower, upper: (B, C, H, W); zLower, zUpper: (B, C, OH, OW).
    public static void IntervalForward(
        Index1D index,
        ArrayView<float> lower,
        ArrayView<float> upper,
        ArrayView<float> zLower,
        ArrayView<float> zUpper,
        float relative,
        float absolute,
        SpecializedValue<Pool2DShape> shape)
    {
        Pool2DShape g = shape.Value;
        int ox = index % g.OutWidth, oy = index / g.OutWidth % g.OutHeight, plane = index / (g.OutWidth * g.OutHeight);
        int first = (plane * g.Height + oy * g.Size) * g.Width + ox * g.Size;
        float sumLower = 0f, sumUpper = 0f, magnitude = 0f;
        for (int i = 0; i < g.Size; i++)
        {
            for (int j = 0; j < g.Size; j++)
            {
                float lo = lower[first + i * g.Width + j], hi = upper[first + i * g.Width + j];
                sumLower += lo;
                sumUpper += hi;
                magnitude = magnitude > (lo > 0f ? lo : -lo) ? magnitude : (lo > 0f ? lo : -lo);
                magnitude = magnitude > (hi > 0f ? hi : -hi) ? magnitude : (hi > 0f ? hi : -hi);
            }
        }

        float margin = relative * magnitude + absolute;
        zLower[index] = sumLower / (g.Size * g.Size) - margin;
        zUpper[index] = sumUpper / (g.Size * g.Size) + margin;
    }

    // Certified training's backward of the bounds to the layer below, fused with its interval rule; one thread per input
    // value: dL/dlo[s, c, iy, ix] = (dμ − dρ) / 2 / S² and dL/dhi = (dμ + dρ) / 2 / S² of its window's output, whose bounds
    // are μ ∓ ρ (0 past the last whole window); the below rule at its z bounds turns them into its dμ and dρ.
    // dμ, dρ: (B, C, OH, OW); the rest (B, C, H, W).
    public static void IntervalBackward<TBelow>(
        Index1D index,
        ArrayView<float> centerGradients,
        ArrayView<float> radiusGradients,
        ArrayView<float> zLowerBelow,
        ArrayView<float> zUpperBelow,
        IntervalRule below,
        ArrayView<float> belowCenterGradients,
        ArrayView<float> belowRadiusGradients,
        SpecializedValue<Pool2DShape> shape)
        where TBelow : struct, IActivationKernel
    {
        Pool2DShape g = shape.Value;
        int ix = index % g.Width, iy = index / g.Width % g.Height, plane = index / (g.Width * g.Height);
        int oy = iy / g.Size, ox = ix / g.Size;
        float dLower = 0f, dUpper = 0f;
        if (oy < g.OutHeight && ox < g.OutWidth)
        {
            int output = (plane * g.OutHeight + oy) * g.OutWidth + ox;
            float dCenter = centerGradients[output], dRadius = radiusGradients[output];
            dLower = 0.5f * (dCenter - dRadius) / (g.Size * g.Size);
            dUpper = 0.5f * (dCenter + dRadius) / (g.Size * g.Size);
        }

        below.Backward<TBelow>(zLowerBelow[index], zUpperBelow[index], dLower, dUpper, out float centerGradient, out float radiusGradient);
        belowCenterGradients[index] = centerGradient;
        belowRadiusGradients[index] = radiusGradient;
    }
}
