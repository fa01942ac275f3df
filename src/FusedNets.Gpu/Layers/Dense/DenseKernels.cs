using FusedNets.Generated;
using System.ComponentModel;
using ILGPU;
using ILGPU.Runtime;

namespace FusedNets.Gpu;

/// <summary>The sizes of a dense layer, the value its kernels are specialized on.</summary>
/// <remarks>Public because ILGPU's specializing launcher, emitted at run time, declares a field of it.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly record struct DenseShape(int Inputs, int Units);

/// <summary>
/// A dense layer's kernels: y = f(W x + b). Three shared-memory tiled products, each with its fusion in the
/// epilogue. A group of T × T threads computes a T × T tile of the result; each pass over the shared dimension stages a
/// T-wide slice of both operands in shared memory, so every value loaded from global memory serves T products. Rows
/// are padded to T + 1 floats so that reading a column does not hit one shared-memory bank T times. Sizes that are not
/// tile multiples load zeros past the edge.
/// </summary>
internal static class DenseKernels
{
    // x: (B, In), W: (Out, In), b: (Out), z and y: (B, Out).
    // Forward: z = W x + b, y = f(z), the product Z (B, Out) = X (B, In) Wᵀ with thread (row, column) = (sample, output).
    // Saves z and y for the backward.
    public static void Forward<TActivation, TTile>(
        ArrayView<int> status,
        ArrayView<float> x,
        ArrayView<float> w,
        ArrayView<float> b,
        ArrayView<float> z,
        ArrayView<float> y,
        SpecializedValue<DenseShape> shape,
        int batch)
        where TActivation : struct, IActivationKernel
        where TTile : struct, ITileSize
    {
        if (KernelChecks.StepFailedInGroup(status))
        {
            return;
        }

        int inputs = shape.Value.Inputs, units = shape.Value.Units;
        int tile = TTile.Size, stride = TTile.Size + 1;
        ArrayView<float> xTile = SharedMemory.Allocate<float>(TTile.Size * (TTile.Size + 1));
        ArrayView<float> wTile = SharedMemory.Allocate<float>(TTile.Size * (TTile.Size + 1));
        int row = Group.IdxY, column = Group.IdxX;
        int firstSample = Grid.IdxY * tile, firstOutput = Grid.IdxX * tile;
        float sum = 0f;
        for (int k = 0; k < inputs; k += tile)
        {
            int input = k + column;
            xTile[row * stride + column] = firstSample + row < batch && input < inputs ? x[(firstSample + row) * inputs + input] : 0f;
            wTile[row * stride + column] = firstOutput + row < units && input < inputs ? w[(firstOutput + row) * inputs + input] : 0f;
            Group.Barrier();
            for (int j = 0; j < tile; j++)
            {
                sum += xTile[row * stride + j] * wTile[column * stride + j];
            }

            Group.Barrier();
        }

        int sample = firstSample + row, output = firstOutput + column;
        if (sample < batch && output < units)
        {
            float pre = sum + b[output];
            z[sample * units + output] = pre;
            y[sample * units + output] = TActivation.Apply(pre);
        }
    }

    // Backward of z = W x + b to x, fused with the activation derivative of the layer below, whose dz it writes:
    // dzBelow (B, In) = (dz (B, Out) W (Out, In)) ⊙ f'below(zBelow, yBelow), thread (row, column) = (sample, input).
    // For the first layer dzBelow is dL/dx of the network's input and f'below is the identity's.
    public static void Backward<TBelow, TTile>(
        ArrayView<int> status,
        ArrayView<float> w,
        ArrayView<float> dz,
        ArrayView<float> zBelow,
        ArrayView<float> yBelow,
        ArrayView<float> dzBelow,
        SpecializedValue<DenseShape> shape,
        int batch)
        where TBelow : struct, IActivationKernel
        where TTile : struct, ITileSize
    {
        if (KernelChecks.StepFailedInGroup(status))
        {
            return;
        }

        int inputs = shape.Value.Inputs, units = shape.Value.Units;
        int tile = TTile.Size, stride = TTile.Size + 1;
        ArrayView<float> dzTile = SharedMemory.Allocate<float>(TTile.Size * (TTile.Size + 1));
        ArrayView<float> wTile = SharedMemory.Allocate<float>(TTile.Size * (TTile.Size + 1));
        int row = Group.IdxY, column = Group.IdxX;
        int firstSample = Grid.IdxY * tile, firstInput = Grid.IdxX * tile;
        float sum = 0f;
        for (int k = 0; k < units; k += tile)
        {
            dzTile[row * stride + column] = firstSample + row < batch && k + column < units ? dz[(firstSample + row) * units + k + column] : 0f;
            wTile[row * stride + column] = k + row < units && firstInput + column < inputs ? w[(k + row) * inputs + firstInput + column] : 0f;
            Group.Barrier();
            for (int j = 0; j < tile; j++)
            {
                sum += dzTile[row * stride + j] * wTile[j * stride + column];
            }

            Group.Barrier();
        }

        int sample = firstSample + row, input = firstInput + column;
        if (sample < batch && input < inputs)
        {
            int at = sample * inputs + input;
            dzBelow[at] = sum * TBelow.Derivative(zBelow[at], yBelow[at]);
        }
    }

    // Backward of z = W x + b to W and b, fused with the optimizer step of TRule; no gradient tensor is stored.
    // dW (Out, In) = dzᵀ (Out, B) x (B, In), thread (row, column) = (output, input); db[o] = Σ_s dz[s, o], summed by the
    // column-0 threads of the first column of groups from the dz tiles they already hold.
    // mw and mb: the first moments of W and b (SGD's velocity, Adam's m); vw and vb: their second moments (Adam's v,
    // untouched by a rule without one); mask: (Out, In), 1 where W trains and 0 where it stays zero (read only when
    // TMask is Masked).
    public static void Update<TMask, TTile, TRule>(
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
        SpecializedValue<DenseShape> shape,
        int batch,
        int step)
        where TMask : struct, IMaskMode
        where TTile : struct, ITileSize
        where TRule : struct, IUpdateRule
    {
        if (KernelChecks.StepFailedInGroup(status))
        {
            return;
        }

        int inputs = shape.Value.Inputs, units = shape.Value.Units;
        int tile = TTile.Size, stride = TTile.Size + 1;
        ArrayView<float> dzTile = SharedMemory.Allocate<float>(TTile.Size * (TTile.Size + 1));
        ArrayView<float> xTile = SharedMemory.Allocate<float>(TTile.Size * (TTile.Size + 1));
        int row = Group.IdxY, column = Group.IdxX;
        int firstOutput = Grid.IdxY * tile, firstInput = Grid.IdxX * tile;
        bool sumsBias = Grid.IdxX == 0 && column == 0;
        float dw = 0f, db = 0f;
        for (int k = 0; k < batch; k += tile)
        {
            dzTile[row * stride + column] = firstOutput + row < units && k + column < batch ? dz[(k + column) * units + firstOutput + row] : 0f;
            xTile[row * stride + column] = k + row < batch && firstInput + column < inputs ? x[(k + row) * inputs + firstInput + column] : 0f;
            Group.Barrier();
            for (int j = 0; j < tile; j++)
            {
                dw += dzTile[row * stride + j] * xTile[j * stride + column];
                db += dzTile[row * stride + j];
            }

            Group.Barrier();
        }

        int output = firstOutput + row, input = firstInput + column;
        if (output < units && input < inputs)
        {
            int at = output * inputs + input;
            if (TMask.IsMasked)
            {
                dw *= mask[at];
            }

            w[at] = rule.UpdateWeight(w[at], ref mw[at], ref vw[at], dw);
            KernelChecks.FlagIfNotFinite<TRule>(status, step, w[at], mw[at], vw[at]);
        }

        if (sumsBias && output < units)
        {
            b[output] = rule.UpdateBias(b[output], ref mb[output], ref vb[output], db);
            KernelChecks.FlagIfNotFinite<TRule>(status, step, b[output], mb[output], vb[output]);
        }
    }

    // Interval bound propagation (docs/research.md). lower, upper: (B, In) bounds of x; zLower, zUpper and yLower, yUpper:
    // (B, Out) bounds of z = W x + b and y = f(z). With c = lo/2 + hi/2 and r = hi/2 − lo/2, z lies in [μ − ρ, μ + ρ],
    // μ = W c + b, ρ = |W| r, widened by relative · (|b| + Σ |w| (|c| + r)) + absolute · (1 + Σ |w|) (IntervalRounding),
    // then y's bounds by f's interval rule. Certified training passes no margins and the unwidened rule, and saves z's
    // bounds for the backward. Tiled as the forward, both ends of the input's bounds staged as center and radius, four
    // sums per thread.
    public static void IntervalForward<TActivation, TTile>(
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
        SpecializedValue<DenseShape> shape,
        int batch)
        where TActivation : struct, IActivationKernel
        where TTile : struct, ITileSize
    {
        int inputs = shape.Value.Inputs, units = shape.Value.Units;
        int tile = TTile.Size, stride = TTile.Size + 1;
        ArrayView<float> centerTile = SharedMemory.Allocate<float>(TTile.Size * (TTile.Size + 1));
        ArrayView<float> radiusTile = SharedMemory.Allocate<float>(TTile.Size * (TTile.Size + 1));
        ArrayView<float> wTile = SharedMemory.Allocate<float>(TTile.Size * (TTile.Size + 1));
        int row = Group.IdxY, column = Group.IdxX;
        int firstSample = Grid.IdxY * tile, firstOutput = Grid.IdxX * tile;
        float center = 0f, radius = 0f, scale = 0f, weights = 0f;
        for (int k = 0; k < inputs; k += tile)
        {
            int input = k + column;
            bool inside = firstSample + row < batch && input < inputs;
            float lo = inside ? lower[(firstSample + row) * inputs + input] : 0f, hi = inside ? upper[(firstSample + row) * inputs + input] : 0f;
            centerTile[row * stride + column] = 0.5f * lo + 0.5f * hi;
            radiusTile[row * stride + column] = 0.5f * hi - 0.5f * lo;
            wTile[row * stride + column] = firstOutput + row < units && input < inputs ? w[(firstOutput + row) * inputs + input] : 0f;
            Group.Barrier();
            for (int j = 0; j < tile; j++)
            {
                float weight = wTile[column * stride + j], magnitude = weight > 0f ? weight : -weight;
                float c = centerTile[row * stride + j], r = radiusTile[row * stride + j];
                center += c * weight;
                radius += r * magnitude;
                scale += ((c > 0f ? c : -c) + r) * magnitude;
                weights += magnitude;
            }

            Group.Barrier();
        }

        int sample = firstSample + row, output = firstOutput + column;
        if (sample < batch && output < units)
        {
            float bias = b[output];
            radius += relative * ((bias > 0f ? bias : -bias) + scale) + absolute * (1f + weights);
            center += bias;
            int at = sample * units + output;
            zLower[at] = center - radius;
            zUpper[at] = center + radius;
            rule.Bounds<TActivation>(center - radius, center + radius, out float yLo, out float yHi);
            yLower[at] = yLo;
            yUpper[at] = yHi;
        }
    }

    // Certified training's backward of the bounds to the layer below, fused with its interval rule. From μ = W c + b and
    // ρ = |W| r: dc (B, In) = dμ (B, Out) W, dr = dρ |W|; with c = lo/2 + hi/2, r = hi/2 − lo/2, dL/dlo = (dc − dr) / 2 and
    // dL/dhi = (dc + dr) / 2 of the y bounds below, which the below rule at its z bounds turns into its dμ and dρ.
    // Tiled as the backward, thread (row, column) = (sample, input), two sums per thread.
    public static void IntervalBackward<TBelow, TTile>(
        ArrayView<float> w,
        ArrayView<float> centerGradients,
        ArrayView<float> radiusGradients,
        ArrayView<float> zLowerBelow,
        ArrayView<float> zUpperBelow,
        IntervalRule below,
        ArrayView<float> belowCenterGradients,
        ArrayView<float> belowRadiusGradients,
        SpecializedValue<DenseShape> shape,
        int batch)
        where TBelow : struct, IActivationKernel
        where TTile : struct, ITileSize
    {
        int inputs = shape.Value.Inputs, units = shape.Value.Units;
        int tile = TTile.Size, stride = TTile.Size + 1;
        ArrayView<float> centerTile = SharedMemory.Allocate<float>(TTile.Size * (TTile.Size + 1));
        ArrayView<float> radiusTile = SharedMemory.Allocate<float>(TTile.Size * (TTile.Size + 1));
        ArrayView<float> wTile = SharedMemory.Allocate<float>(TTile.Size * (TTile.Size + 1));
        int row = Group.IdxY, column = Group.IdxX;
        int firstSample = Grid.IdxY * tile, firstInput = Grid.IdxX * tile;
        float dc = 0f, dr = 0f;
        for (int k = 0; k < units; k += tile)
        {
            bool inside = firstSample + row < batch && k + column < units;
            centerTile[row * stride + column] = inside ? centerGradients[(firstSample + row) * units + k + column] : 0f;
            radiusTile[row * stride + column] = inside ? radiusGradients[(firstSample + row) * units + k + column] : 0f;
            wTile[row * stride + column] = k + row < units && firstInput + column < inputs ? w[(k + row) * inputs + firstInput + column] : 0f;
            Group.Barrier();
            for (int j = 0; j < tile; j++)
            {
                float weight = wTile[j * stride + column];
                dc += centerTile[row * stride + j] * weight;
                dr += radiusTile[row * stride + j] * (weight > 0f ? weight : -weight);
            }

            Group.Barrier();
        }

        int sample = firstSample + row, input = firstInput + column;
        if (sample < batch && input < inputs)
        {
            int at = sample * inputs + input;
            below.Backward<TBelow>(zLowerBelow[at], zUpperBelow[at], 0.5f * (dc - dr), 0.5f * (dc + dr), out float centerGradient, out float radiusGradient);
            belowCenterGradients[at] = centerGradient;
            belowRadiusGradients[at] = radiusGradient;
        }
    }

    // Certified training's backward of μ = W c + b, ρ = |W| r to W and b, fused with the optimizer step of TRule:
    // dW (Out, In) = dμᵀ c + sign(W) ⊙ dρᵀ r, db = Σ_s dμ, with c and r of the input bounds lower, upper (B, In).
    // Tiled as the update, thread (row, column) = (output, input); moments and mask as there.
    public static void IntervalUpdate<TMask, TTile, TRule>(
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
        SpecializedValue<DenseShape> shape,
        int batch,
        int step)
        where TMask : struct, IMaskMode
        where TTile : struct, ITileSize
        where TRule : struct, IUpdateRule
    {
        if (KernelChecks.StepFailedInGroup(status))
        {
            return;
        }

        int inputs = shape.Value.Inputs, units = shape.Value.Units;
        int tile = TTile.Size, stride = TTile.Size + 1;
        ArrayView<float> dCenterTile = SharedMemory.Allocate<float>(TTile.Size * (TTile.Size + 1));
        ArrayView<float> dRadiusTile = SharedMemory.Allocate<float>(TTile.Size * (TTile.Size + 1));
        ArrayView<float> centerTile = SharedMemory.Allocate<float>(TTile.Size * (TTile.Size + 1));
        ArrayView<float> radiusTile = SharedMemory.Allocate<float>(TTile.Size * (TTile.Size + 1));
        int row = Group.IdxY, column = Group.IdxX;
        int firstOutput = Grid.IdxY * tile, firstInput = Grid.IdxX * tile;
        bool sumsBias = Grid.IdxX == 0 && column == 0;
        float dwCenter = 0f, dwRadius = 0f, db = 0f;
        for (int k = 0; k < batch; k += tile)
        {
            bool delta = firstOutput + row < units && k + column < batch;
            dCenterTile[row * stride + column] = delta ? centerGradients[(k + column) * units + firstOutput + row] : 0f;
            dRadiusTile[row * stride + column] = delta ? radiusGradients[(k + column) * units + firstOutput + row] : 0f;
            bool inside = k + row < batch && firstInput + column < inputs;
            float lo = inside ? lower[(k + row) * inputs + firstInput + column] : 0f, hi = inside ? upper[(k + row) * inputs + firstInput + column] : 0f;
            centerTile[row * stride + column] = 0.5f * lo + 0.5f * hi;
            radiusTile[row * stride + column] = 0.5f * hi - 0.5f * lo;
            Group.Barrier();
            for (int j = 0; j < tile; j++)
            {
                dwCenter += dCenterTile[row * stride + j] * centerTile[j * stride + column];
                dwRadius += dRadiusTile[row * stride + j] * radiusTile[j * stride + column];
                db += dCenterTile[row * stride + j];
            }

            Group.Barrier();
        }

        int output = firstOutput + row, input = firstInput + column;
        if (output < units && input < inputs)
        {
            int at = output * inputs + input;
            float weight = w[at];
            float dw = dwCenter + (weight > 0f ? dwRadius : weight < 0f ? -dwRadius : 0f);
            if (TMask.IsMasked)
            {
                dw *= mask[at];
            }

            w[at] = rule.UpdateWeight(weight, ref mw[at], ref vw[at], dw);
            KernelChecks.FlagIfNotFinite<TRule>(status, step, w[at], mw[at], vw[at]);
        }

        if (sumsBias && output < units)
        {
            b[output] = rule.UpdateBias(b[output], ref mb[output], ref vb[output], db);
            KernelChecks.FlagIfNotFinite<TRule>(status, step, b[output], mb[output], vb[output]);
        }
    }
}
