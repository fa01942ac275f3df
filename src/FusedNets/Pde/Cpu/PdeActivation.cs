using FusedNets.Generated;

namespace FusedNets.Backends.Cpu;

/// <summary>
/// The activation of one unit's row for one term's points, across its channels, and its backward: the elementwise half
/// of derivative propagation (docs/pde.md), vectorized across the term's points. Per point, with f', f'', f''' at z:
/// <code>
///   forward:   y = f(z)     y_i = f' z_i     y_Δ = f'' Σ_{k in S} z_k² + f' z_Δ      (one by one: y_kk = f'' z_k² + f' z_kk)
///   backward:  dz_Δ = f' dy_Δ     dz_i = f' dy_i + [i in S] 2 f'' z_i dy_Δ
///              dz = f' dy + f'' Σ_i z_i dy_i + (f''' Σ_{k in S} z_k² + f'' z_Δ) dy_Δ
/// </code>
/// In the first layer z_i is W[o, i], the same for every point, and z_Δ is 0: the kernels' firstWeights then
/// points at W's row, and the derivative columns of z are not read.
/// </summary>
/// <remarks>
/// Each channel is a pass over the term's points (the scratch holds f', f'', f''' and the sums between passes), so that
/// every pass streams two or three rows instead of jumping between all the channels of one point. Every value is one
/// fixed chain of operations, the same at every vector width.
/// </remarks>
internal static unsafe class PdeActivation
{
    /// <summary>Floats of scratch per thread: six rows of the widest term.</summary>
    public static int ScratchFloats(int maxPadded) => 6 * maxPadded;

    public static void Forward<TVector, TOps, TActivation>(TermColumns term, float* z, float* y, float* firstWeights, float* scratch)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TActivation : struct, IActivationKernel
    {
        int width = TOps.Count, end = term.Padded;
        float* d1 = scratch, d2 = scratch + end, squares = scratch + 2 * end;
        bool derivatives = term.FirstDerivatives > 0, second = term.SecondDerivatives > 0;
        for (int at = 0; at < end; at += width)
        {
            TVector value = TOps.Load(z + term.Value + at);
            TVector activated = TActivation.Apply<TVector, TOps>(value);
            TOps.Store(y + term.Value + at, activated);
            if (derivatives)
            {
                TOps.Store(d1 + at, TActivation.Derivative<TVector, TOps>(value, activated));
                if (second)
                {
                    TOps.Store(d2 + at, TActivation.SecondDerivative<TVector, TOps>(value, activated));
                }
            }
        }

        if (!derivatives)
        {
            return;
        }

        // y_i = f' z_i, and Σ z_i² over the Laplacian's inputs.
        float firstSquares = 0;
        if (term.Laplacian)
        {
            new Span<float>(squares, end).Clear();
        }

        for (int i = 0; i < term.FirstDerivatives; i++)
        {
            float* yi = y + term.First(i);
            bool sums = term.Laplacian && term.InLaplacian[i];
            if (firstWeights != null)
            {
                TVector w = TOps.Broadcast(firstWeights[i]);
                for (int at = 0; at < end; at += width)
                {
                    TOps.Store(yi + at, TOps.Multiply(TOps.Load(d1 + at), w));
                }

                firstSquares = sums ? MathF.FusedMultiplyAdd(firstWeights[i], firstWeights[i], firstSquares) : firstSquares;
                continue;
            }

            float* zi = z + term.First(i);
            for (int at = 0; at < end; at += width)
            {
                TVector g = TOps.Load(zi + at);
                TOps.Store(yi + at, TOps.Multiply(TOps.Load(d1 + at), g));
                if (sums)
                {
                    TOps.Store(squares + at, TOps.MultiplyAdd(g, g, TOps.Load(squares + at)));
                }
            }
        }

        if (term.Laplacian)
        {
            // y_Δ = f'' Σ z_k² + f' z_Δ
            float* yl = y + term.Second(0), zl = z + term.Second(0);
            for (int at = 0; at < end; at += width)
            {
                TVector curvature = TOps.Load(d2 + at);
                TOps.Store(yl + at, firstWeights != null
                    ? TOps.Multiply(curvature, TOps.Broadcast(firstSquares))
                    : TOps.MultiplyAdd(curvature, TOps.Load(squares + at), TOps.Multiply(TOps.Load(d1 + at), TOps.Load(zl + at))));
            }

            return;
        }

        // y_kk = f'' z_k² + f' z_kk
        for (int k = 0; k < term.SecondDerivatives; k++)
        {
            int input = term.SecondInputs[k];
            float* yk = y + term.Second(k), zk = z + term.Second(k), zi = z + term.First(input);
            for (int at = 0; at < end; at += width)
            {
                TVector curvature = TOps.Load(d2 + at);
                if (firstWeights != null)
                {
                    TOps.Store(yk + at, TOps.Multiply(curvature, TOps.Broadcast(firstWeights[input] * firstWeights[input])));
                    continue;
                }

                TVector g = TOps.Load(zi + at);
                TOps.Store(yk + at, TOps.MultiplyAdd(TOps.Multiply(curvature, g), g, TOps.Multiply(TOps.Load(d1 + at), TOps.Load(zk + at))));
            }
        }
    }

    /// <summary>The backward of <see cref="Forward"/> for points [<paramref name="start"/>, <paramref name="end"/>) (whole vectors), dy → dz in place in <paramref name="adjoint"/>.</summary>
    public static void Backward<TVector, TOps, TActivation>(TermColumns term, float* z, float* y, float* adjoint, float* firstWeights, float* scratch, int start, int end)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TActivation : struct, IActivationKernel
    {
        int width = TOps.Count, rows = term.Padded;
        float* d1s = scratch, d2s = scratch + rows, d3s = scratch + 2 * rows, value = scratch + 3 * rows, squares = scratch + 4 * rows, laplacian = scratch + 5 * rows;
        bool derivatives = term.FirstDerivatives > 0, second = term.SecondDerivatives > 0;
        bool first = firstWeights != null;

        // dz = f' dy (+ f'' z_Δ dy_Δ), dz_Δ = f' dy_Δ
        for (int at = start; at < end; at += width)
        {
            TVector zv = TOps.Load(z + term.Value + at), yv = TOps.Load(y + term.Value + at);
            TVector d1 = TActivation.Derivative<TVector, TOps>(zv, yv);
            TVector dz = TOps.Multiply(d1, TOps.Load(adjoint + term.Value + at));
            if (!derivatives)
            {
                TOps.Store(adjoint + term.Value + at, dz);
                continue;
            }

            TVector d2 = TActivation.SecondDerivative<TVector, TOps>(zv, yv);
            TOps.Store(d1s + at, d1);
            TOps.Store(d2s + at, d2);
            if (second)
            {
                TOps.Store(d3s + at, TActivation.ThirdDerivative<TVector, TOps>(zv, yv));
            }

            if (term.Laplacian)
            {
                TVector dyl = TOps.Load(adjoint + term.Second(0) + at);
                TOps.Store(laplacian + at, dyl);
                TOps.Store(adjoint + term.Second(0) + at, TOps.Multiply(d1, dyl));
                TOps.Store(squares + at, default);
                if (!first)
                {
                    dz = TOps.MultiplyAdd(TOps.Multiply(d2, TOps.Load(z + term.Second(0) + at)), dyl, dz);
                }
            }

            TOps.Store(value + at, dz);
        }

        if (!derivatives)
        {
            return;
        }

        // dz += f'' z_i dy_i;  dz_i = f' dy_i (+ 2 f'' z_i dy_Δ)
        TVector two = TOps.Broadcast(2f);
        float firstSquares = 0;
        for (int i = 0; i < term.FirstDerivatives; i++)
        {
            bool sums = term.Laplacian && term.InLaplacian[i];
            float* zi = z + term.First(i), ai = adjoint + term.First(i);
            if (first && sums)
            {
                firstSquares = MathF.FusedMultiplyAdd(firstWeights[i], firstWeights[i], firstSquares);
            }

            for (int at = start; at < end; at += width)
            {
                TVector g = first ? TOps.Broadcast(firstWeights[i]) : TOps.Load(zi + at);
                TVector dyi = TOps.Load(ai + at);
                TVector curvature = TOps.Multiply(TOps.Load(d2s + at), g);
                TOps.Store(value + at, TOps.MultiplyAdd(curvature, dyi, TOps.Load(value + at)));
                TVector dzi = TOps.Multiply(TOps.Load(d1s + at), dyi);
                if (sums)
                {
                    dzi = TOps.MultiplyAdd(TOps.Multiply(two, curvature), TOps.Load(laplacian + at), dzi);
                    if (!first)
                    {
                        TOps.Store(squares + at, TOps.MultiplyAdd(g, g, TOps.Load(squares + at)));
                    }
                }

                TOps.Store(ai + at, dzi);
            }
        }

        if (term.Laplacian)
        {
            // dz += f''' Σ z_k² dy_Δ
            for (int at = start; at < end; at += width)
            {
                TVector sum = first ? TOps.Broadcast(firstSquares) : TOps.Load(squares + at);
                TOps.Store(adjoint + term.Value + at, TOps.MultiplyAdd(TOps.Multiply(TOps.Load(d3s + at), sum), TOps.Load(laplacian + at), TOps.Load(value + at)));
            }

            return;
        }

        // One by one: dz_kk = f' dy_kk,  dz_k += 2 f'' z_k dy_kk,  dz += (f''' z_k² + f'' z_kk) dy_kk
        for (int k = 0; k < term.SecondDerivatives; k++)
        {
            int input = term.SecondInputs[k];
            float* zk = z + term.Second(k), ak = adjoint + term.Second(k), zi = z + term.First(input), ai = adjoint + term.First(input);
            for (int at = start; at < end; at += width)
            {
                TVector dyk = TOps.Load(ak + at);
                TVector g = first ? TOps.Broadcast(firstWeights[input]) : TOps.Load(zi + at);
                TVector d2 = TOps.Load(d2s + at);
                TOps.Store(ak + at, TOps.Multiply(TOps.Load(d1s + at), dyk));
                TOps.Store(ai + at, TOps.MultiplyAdd(TOps.Multiply(two, TOps.Multiply(d2, g)), dyk, TOps.Load(ai + at)));
                TVector slope = TOps.Multiply(TOps.Multiply(TOps.Load(d3s + at), g), g);
                if (!first)
                {
                    slope = TOps.MultiplyAdd(d2, TOps.Load(zk + at), slope);
                }

                TOps.Store(value + at, TOps.MultiplyAdd(slope, dyk, TOps.Load(value + at)));
            }
        }

        for (int at = start; at < end; at += width)
        {
            TOps.Store(adjoint + term.Value + at, TOps.Load(value + at));
        }
    }
}
