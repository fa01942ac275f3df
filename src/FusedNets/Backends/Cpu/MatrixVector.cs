using FusedNets.Generated;
using System.Runtime.CompilerServices;

namespace FusedNets.Backends.Cpu;

/// <summary>
/// The single-sample forward y = f(W x + b), from a copy of W kept for it: Wᵀ in panels of
/// <see cref="PanelVectors"/> vectors of outputs, so one sample streams W front to back exactly once.
/// </summary>
/// <remarks>
/// Read in the batched kernels' row-major layout, eight rows at a time, W jumps between eight streams and
/// every output ends with a horizontal sum. Packed input-major, each input broadcasts once against a contiguous row of
/// its panel: independent chains of fused multiply-adds, one stream the prefetcher follows, no horizontal
/// sums. 784-128 on AVX-512, one thread, went from 3.7 to 2.3 µs, the speed of reading its 400 KB from L2.
/// Each output is one chain in input order with the bias added last: the very operations of the batched
/// forward, so one sample's outputs equal the batch's bit for bit.
/// <code>
///   x: (Inputs), panel p: (Inputs, PanelVectors · Count) = Wᵀ[:, p·P .. p·P + P), y: (Units)
/// </code>
/// </remarks>
internal static unsafe class MatrixVector
{
    /// <summary>
    /// Vectors of outputs per panel: accumulators held in registers across the whole input loop. Four chains
    /// leave half the FMA throughput idle, but four vectors per input already take what L2 can deliver, and
    /// narrow panels split a layer across threads (784-128 on AVX-512: two panels).
    /// </summary>
    public const int PanelVectors = 4;

    /// <summary>Panels of a layer with <paramref name="units"/> outputs.</summary>
    public static int Panels(int units, int width) => (CpuLayout.RoundUp(units, width) / width + PanelVectors - 1) / PanelVectors;

    /// <summary>Floats the packed copy of a <paramref name="units"/> × <paramref name="inputs"/> W takes.</summary>
    public static long PackedLength(int units, int inputs, int width) => (long)CpuLayout.RoundUp(units, width) * inputs;

    /// <summary>Packs W (row-major, rows <paramref name="stride"/> floats apart) into panels of Wᵀ; outputs past <paramref name="units"/> are zero.</summary>
    public static void Pack(float* weights, nint stride, int units, int inputs, int width, float* panels)
    {
        int vectors = CpuLayout.RoundUp(units, width) / width;
        for (int first = 0; first < vectors; first += PanelVectors)
        {
            int panelFloats = Math.Min(PanelVectors, vectors - first) * width;
            float* panel = panels + (long)first * width * inputs;
            for (int input = 0; input < inputs; input++)
            {
                float* row = panel + (long)input * panelFloats;
                for (int j = 0; j < panelFloats; j++)
                {
                    int output = first * width + j;
                    row[j] = output < units ? weights[output * stride + input] : 0f;
                }
            }
        }
    }

    /// <summary>
    /// y = f(W x + b) for the outputs of panels [<paramref name="firstPanel"/>, <paramref name="endPanel"/>), padding
    /// included. Inlined into generated code with constant sizes, the choice of accumulators folds away.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Forward<TVector, TOps, TActivation>(float* panels, float* bias, float* x, float* y, int inputs, int units, int firstPanel, int endPanel)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TActivation : IActivationKernel
    {
        int width = TOps.Count;
        int vectors = (units + width - 1) / width;
        for (int first = firstPanel * PanelVectors; first < Math.Min(vectors, endPanel * PanelVectors); first += PanelVectors)
        {
            float* panel = panels + (long)first * width * inputs;
            float* panelBias = bias + first * width;
            float* panelY = y + first * width;
            switch (Math.Min(PanelVectors, vectors - first))
            {
                case 4: Panel<TVector, TOps, TActivation, Four>(panel, panelBias, x, panelY, inputs); break;
                case 3: Panel<TVector, TOps, TActivation, Three>(panel, panelBias, x, panelY, inputs); break;
                case 2: Panel<TVector, TOps, TActivation, Two>(panel, panelBias, x, panelY, inputs); break;
                default: Panel<TVector, TOps, TActivation, One>(panel, panelBias, x, panelY, inputs); break;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Panel<TVector, TOps, TActivation, TVectors>(float* panel, float* bias, float* x, float* y, int inputs)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TActivation : IActivationKernel
        where TVectors : IConstant
    {
        int width = TOps.Count;
        nint rowFloats = TVectors.Value * width;
        TVector s0 = default, s1 = default, s2 = default, s3 = default;
        for (int input = 0; input < inputs; input++)
        {
            TVector xi = TOps.Broadcast(x[input]);
            s0 = TOps.MultiplyAdd(TOps.Load(panel), xi, s0);
            if (TVectors.Value > 1) { s1 = TOps.MultiplyAdd(TOps.Load(panel + width), xi, s1); }
            if (TVectors.Value > 2) { s2 = TOps.MultiplyAdd(TOps.Load(panel + 2 * width), xi, s2); }
            if (TVectors.Value > 3) { s3 = TOps.MultiplyAdd(TOps.Load(panel + 3 * width), xi, s3); }
            panel += rowFloats;
        }

        Finish<TVector, TOps, TActivation>(y, bias, s0);
        if (TVectors.Value > 1) { Finish<TVector, TOps, TActivation>(y + width, bias + width, s1); }
        if (TVectors.Value > 2) { Finish<TVector, TOps, TActivation>(y + 2 * width, bias + 2 * width, s2); }
        if (TVectors.Value > 3) { Finish<TVector, TOps, TActivation>(y + 3 * width, bias + 3 * width, s3); }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish<TVector, TOps, TActivation>(float* y, float* bias, TVector sum)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TActivation : IActivationKernel
    {
        TOps.Store(y, TActivation.Apply<TVector, TOps>(TOps.Add(sum, TOps.Load(bias))));
    }
}
