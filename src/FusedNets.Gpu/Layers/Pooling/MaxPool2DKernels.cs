using FusedNets.Generated;
using System.ComponentModel;
using ILGPU;
using ILGPU.Runtime;

namespace FusedNets.Gpu;

/// <summary>The sizes of a pooling layer, the value its kernels are specialized on.</summary>
/// <remarks>Public because ILGPU's specializing launcher, emitted at run time, declares a field of it.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly record struct Pool2DShape(int Channels, int Height, int Width, int OutHeight, int OutWidth, int Size)
{
    internal static Pool2DShape Of(Pool2DLayerArchitecture layer) => new(
        layer.InputShape.Channels, layer.InputShape.Height, layer.InputShape.Width, layer.OutputShape.Height, layer.OutputShape.Width, layer.Size);
}

/// <summary>
/// Max pooling's kernels: windows of Size × Size with stride Size, each channel on its own, no parameters and no
/// activation (z = y). Windows do not overlap, so each input value has at most one output: the backward gathers, one
/// thread per input value, with no atomics.
/// </summary>
internal static class MaxPool2DKernels
{
    // x: (B, C, H, W), z and y: (B, C, OH, OW).
    // Forward: one thread per output, z = y = the largest value of its window, the first one scanning rows then columns on ties.
    public static void Forward(Index1D index, ArrayView<int> status, ArrayView<float> x, ArrayView<float> z, ArrayView<float> y, SpecializedValue<Pool2DShape> shape)
    {
        if (status[0] != 0)
        {
            return;
        }

        Pool2DShape g = shape.Value;
        int ox = index % g.OutWidth, oy = index / g.OutWidth % g.OutHeight, plane = index / (g.OutWidth * g.OutHeight);
        float largest = x[Largest(x, g, plane, oy, ox)];
        z[index] = largest;
        y[index] = largest;
    }

    // Backward of z[c, oy, ox] = max over the window of x: the gradient goes to the value the forward took and to no
    // other, fused with the activation derivative of the layer below. One thread per input value:
    // dzBelow[s, c, iy, ix] = (iy, ix is its window's largest ? dz[s, c, iy / S, ix / S] : 0) ⊙ f'below(zBelow, yBelow);
    // values past the last whole window belong to none and get 0. dz: (B, C, OH, OW); dzBelow: (B, C, H, W).
    public static void Backward<TBelow>(
        Index1D index,
        ArrayView<int> status,
        ArrayView<float> x,
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
        float gradient = oy < g.OutHeight && ox < g.OutWidth && Largest(x, g, plane, oy, ox) == index
            ? dz[(plane * g.OutHeight + oy) * g.OutWidth + ox]
            : 0f;
        dzBelow[index] = gradient * TBelow.Derivative(zBelow[index], yBelow[index]);
    }

    // Interval bound propagation: the maximum is monotone and exact, so the bounds of an output are the largest lower and
    // the largest upper bound of its window. lower, upper: (B, C, H, W); zLower, zUpper: (B, C, OH, OW).
    public static void IntervalForward(Index1D index, ArrayView<float> lower, ArrayView<float> upper, ArrayView<float> zLower, ArrayView<float> zUpper, SpecializedValue<Pool2DShape> shape)
    {
        Pool2DShape g = shape.Value;
        int ox = index % g.OutWidth, oy = index / g.OutWidth % g.OutHeight, plane = index / (g.OutWidth * g.OutHeight);
        zLower[index] = lower[Largest(lower, g, plane, oy, ox)];
        zUpper[index] = upper[Largest(upper, g, plane, oy, ox)];
    }

    // Certified training's backward of the bounds to the layer below, fused with its interval rule; one thread per input
    // value. Each end's gradient goes to the value that end's maximum took: dL/dlo[s, c, iy, ix] = (lower's largest of
    // the window ? (dμ − dρ) / 2 : 0) and dL/dhi = (upper's largest ? (dμ + dρ) / 2 : 0), μ ∓ ρ the output's bounds; the
    // below rule at its z bounds turns them into its dμ and dρ. lower, upper (the input's bounds), zLowerBelow,
    // zUpperBelow and the below gradients: (B, C, H, W); dμ, dρ: (B, C, OH, OW).
    public static void IntervalBackward<TBelow>(
        Index1D index,
        ArrayView<float> lower,
        ArrayView<float> upper,
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
            dLower = Largest(lower, g, plane, oy, ox) == index ? 0.5f * (dCenter - dRadius) : 0f;
            dUpper = Largest(upper, g, plane, oy, ox) == index ? 0.5f * (dCenter + dRadius) : 0f;
        }

        below.Backward<TBelow>(zLowerBelow[index], zUpperBelow[index], dLower, dUpper, out float centerGradient, out float radiusGradient);
        belowCenterGradients[index] = centerGradient;
        belowRadiusGradients[index] = radiusGradient;
    }

    /// <summary>The index in x of the largest value of window (oy, ox) of <paramref name="plane"/> (sample · C + channel); the first on ties.</summary>
    private static int Largest(ArrayView<float> x, Pool2DShape g, int plane, int oy, int ox)
    {
        int first = (plane * g.Height + oy * g.Size) * g.Width + ox * g.Size, best = first;
        for (int i = 0; i < g.Size; i++)
        {
            for (int j = 0; j < g.Size; j++)
            {
                int at = first + i * g.Width + j;
                if (x[at] > x[best])
                {
                    best = at;
                }
            }
        }

        return best;
    }
}
