using System.ComponentModel;
using FusedNets.Generated;
using ILGPU;
using ILGPU.Runtime;

namespace FusedNets.Gpu;

/// <summary>
/// Where one term's channels lie among the rows of the GPU's sample-major values (a row per column of
/// <see cref="Backends.Cpu.PdeColumns"/> laid out one point wide: no padding), and what its method reads.
/// </summary>
/// <remarks>Public because ILGPU's launchers, emitted at run time, take it as a kernel parameter.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly record struct PdeTermShape(int Value, int Derivatives, int Count, int FirstDerivatives, int SecondDerivatives, int Laplacian, int SecondInputCount)
{
    /// <summary>The row of ∂u/∂x_<paramref name="input"/> at point <paramref name="point"/>.</summary>
    public int First(int input, int point) => Derivatives + input * Count + point;

    /// <summary>The row of the <paramref name="k"/>-th second derivative (the Laplacian: 0) at point <paramref name="point"/>.</summary>
    public int Second(int k, int point) => Derivatives + (FirstDerivatives + k) * Count + point;
}

/// <summary>
/// The physics-informed kernels (docs/pde.md) that the dense layer's products do not already cover: the activation across
/// a term's channels forward and backward, the weight gradient with the bias summed over the value rows alone, the first
/// layer's sums over its ∂/∂x_i rows, and the optimizer step from a stored gradient. Values are sample-major: row k of a
/// layer's (rows, units) buffer is column k of the CPU engine's layout.
/// </summary>
internal static class PdeKernels
{
    // One thread per (point, unit) of a term:  y = f(z),  y_i = f' z_i,  y_Δ = f'' Σ_{k in S} z_k² + f' z_Δ
    // (or y_kk = f'' z_k² + f' z_kk).  In the first layer (first = 1) z_i = W[o, i] and the second derivatives of z are 0;
    // inputs is the layer's, W's row length there (the channels run over the network's inputs, term.FirstDerivatives).
    public static void ActivationForward<TActivation>(
        Index1D index,
        ArrayView<int> status,
        ArrayView<float> z,
        ArrayView<float> y,
        ArrayView<float> weights,
        ArrayView<int> secondInputs,
        PdeTermShape term,
        int units,
        int inputs,
        int first)
        where TActivation : struct, IActivationKernel
    {
        if (status[0] != 0)
        {
            return;
        }

        int s = index / units, o = index - s * units;
        int at = (term.Value + s) * units + o;
        float value = z[at];
        float activated = TActivation.Apply(value);
        y[at] = activated;
        if (term.FirstDerivatives == 0)
        {
            return;
        }

        float d1 = TActivation.Derivative(value, activated), d2 = TActivation.SecondDerivative(value, activated);
        for (int i = 0; i < term.FirstDerivatives; i++)
        {
            y[term.First(i, s) * units + o] = d1 * Slope(z, weights, term, s, o, i, units, inputs, first);
        }

        if (term.Laplacian != 0)
        {
            float squares = 0f;
            for (int k = 0; k < term.SecondInputCount; k++)
            {
                float g = Slope(z, weights, term, s, o, secondInputs[k], units, inputs, first);
                squares += g * g;
            }

            int laplacian = term.Second(0, s) * units + o;
            y[laplacian] = d2 * squares + (first != 0 ? 0f : d1 * z[laplacian]);
            return;
        }

        for (int k = 0; k < term.SecondDerivatives; k++)
        {
            float g = Slope(z, weights, term, s, o, secondInputs[k], units, inputs, first);
            int second = term.Second(k, s) * units + o;
            y[second] = d2 * g * g + (first != 0 ? 0f : d1 * z[second]);
        }
    }

    // The backward of ActivationForward, dy → dz in place in a:
    //   dz_Δ = f' dy_Δ,  dz_i = f' dy_i + [i in S] 2 f'' z_i dy_Δ,  dz = f' dy + f'' Σ_i z_i dy_i + (f''' Σ_{k in S} z_k² + f'' z_Δ) dy_Δ
    //   (one by one: dz_kk = f' dy_kk,  dz_k += 2 f'' z_k dy_kk,  dz += (f''' z_k² + f'' z_kk) dy_kk).
    public static void ActivationBackward<TActivation>(
        Index1D index,
        ArrayView<int> status,
        ArrayView<float> z,
        ArrayView<float> y,
        ArrayView<float> a,
        ArrayView<float> weights,
        ArrayView<int> secondInputs,
        PdeTermShape term,
        int units,
        int inputs,
        int first)
        where TActivation : struct, IActivationKernel
    {
        if (status[0] != 0)
        {
            return;
        }

        int s = index / units, o = index - s * units;
        int at = (term.Value + s) * units + o;
        float value = z[at], activated = y[at];
        float d1 = TActivation.Derivative(value, activated);
        float dz = d1 * a[at];
        if (term.FirstDerivatives == 0)
        {
            a[at] = dz;
            return;
        }

        float d2 = TActivation.SecondDerivative(value, activated), d3 = TActivation.ThirdDerivative(value, activated);
        float dyl = 0f;
        if (term.Laplacian != 0)
        {
            int laplacian = term.Second(0, s) * units + o;
            dyl = a[laplacian];
            a[laplacian] = d1 * dyl;
            dz += first != 0 ? 0f : d2 * z[laplacian] * dyl;
        }

        for (int i = 0; i < term.FirstDerivatives; i++)
        {
            int row = term.First(i, s) * units + o;
            float g = Slope(z, weights, term, s, o, i, units, inputs, first);
            float dyi = a[row];
            dz += d2 * g * dyi;
            a[row] = d1 * dyi;
        }

        for (int k = 0; k < term.SecondInputCount; k++)
        {
            int input = secondInputs[k];
            float g = Slope(z, weights, term, s, o, input, units, inputs, first);
            int row = term.First(input, s) * units + o;
            if (term.Laplacian != 0)
            {
                a[row] += 2f * d2 * g * dyl;
                dz += d3 * g * g * dyl;
                continue;
            }

            int second = term.Second(k, s) * units + o;
            float dyk = a[second];
            a[second] = d1 * dyk;
            a[row] += 2f * d2 * g * dyk;
            dz += (d3 * g * g + (first != 0 ? 0f : d2 * z[second])) * dyk;
        }

        a[at] = dz;
    }

    // z_i of a unit: in the first layer W[o, i], the same at every point; else the row's value.
    private static float Slope(ArrayView<float> z, ArrayView<float> weights, PdeTermShape term, int s, int o, int i, int units, int inputs, int first) =>
        first != 0 ? weights[o * inputs + i] : z[term.First(i, s) * units + o];

    // dW (Out, In) = dzᵀ (Out, rows) x (rows, In) into gradient[0, Out·In), db[o] = Σ over the first biasRows rows of dz into
    // gradient[Out·In, Out·In + Out): the tiled product of DenseKernels.Update, stored rather than stepped, for every
    // channel's rows at once. Masked weights get 0.
    public static void WeightGradient<TMask, TTile>(
        ArrayView<int> status,
        ArrayView<float> x,
        ArrayView<float> dz,
        ArrayView<float> gradient,
        ArrayView<float> mask,
        SpecializedValue<DenseShape> shape,
        int rows,
        int biasRows)
        where TMask : struct, IMaskMode
        where TTile : struct, ITileSize
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
        for (int k = 0; k < rows; k += tile)
        {
            dzTile[row * stride + column] = firstOutput + row < units && k + column < rows ? dz[(k + column) * units + firstOutput + row] : 0f;
            xTile[row * stride + column] = k + row < rows && firstInput + column < inputs ? x[(k + row) * inputs + firstInput + column] : 0f;
            Group.Barrier();
            for (int j = 0; j < tile; j++)
            {
                dw += dzTile[row * stride + j] * xTile[j * stride + column];
                db += k + j < biasRows ? dzTile[row * stride + j] : 0f;
            }

            Group.Barrier();
        }

        int output = firstOutput + row, input = firstInput + column;
        if (output < units && input < inputs)
        {
            int at = output * inputs + input;
            gradient[at] = TMask.IsMasked ? dw * mask[at] : dw;
        }

        if (sumsBias && output < units)
        {
            gradient[units * inputs + output] = db;
        }
    }

    // The first layer reads e_i on the ∂/∂x_i rows: dW_0[o, i] += Σ over those rows of dz_0[·, o], for every term with
    // first derivatives. blocks: (first ∂/∂x_0 row, points) per such term. One thread per weight.
    public static void FirstLayerSums<TMask>(
        Index1D index,
        ArrayView<int> status,
        ArrayView<float> dz,
        ArrayView<float> gradient,
        ArrayView<float> mask,
        ArrayView<int> blocks,
        int blockCount,
        int units,
        int inputs)
        where TMask : struct, IMaskMode
    {
        if (status[0] != 0)
        {
            return;
        }

        int o = index / inputs, i = index - o * inputs;
        float sum = 0f;
        for (int b = 0; b < blockCount; b++)
        {
            int start = blocks[2 * b] + i * blocks[2 * b + 1], count = blocks[2 * b + 1];
            for (int s = 0; s < count; s++)
            {
                sum += dz[(start + s) * units + o];
            }
        }

        gradient[index] += TMask.IsMasked ? sum * mask[index] : sum;
    }

    // TRule's step of one layer's weights (decay = 1) or bias (decay = 0) from its stored gradient; flags a value or
    // state that is not finite. moment: SGD's velocity, Adam's m; secondMoment: Adam's v, where a rule without one finds
    // the first moment standing in (IlgpuWorkspace.WeightsSecondMoment), read and never written. Masked weights have
    // zero gradient, weight and moments, so they stay zero.
    public static void Step<TRule>(
        Index1D index,
        ArrayView<int> status,
        ArrayView<float> parameters,
        ArrayView<float> moment,
        ArrayView<float> secondMoment,
        ArrayView<float> gradient,
        TRule rule,
        int decay,
        int step)
        where TRule : struct, IUpdateRule
    {
        if (status[0] != 0)
        {
            return;
        }

        float first = moment[index], second = secondMoment[index];
        float updated = decay != 0
            ? rule.UpdateWeight(parameters[index], ref first, ref second, gradient[index])
            : rule.UpdateBias(parameters[index], ref first, ref second, gradient[index]);
        parameters[index] = updated;
        moment[index] = first;
        if (TRule.HasSecondMoment)
        {
            secondMoment[index] = second;
        }

        KernelChecks.FlagIfNotFinite<TRule>(status, step, updated, first, second);
    }
}
