using System.Runtime.CompilerServices;
using FusedNets.Generated;

namespace FusedNets.Backends.Cpu;

/// <summary>
/// The buffers of an interval pass (<see cref="CpuPipeline{TVector, TOps}"/>'s interval phases), sized for up to
/// <see cref="Capacity"/> samples, feature-major (features, P) like every value between layers. Bounds are kept as
/// lower and upper ends; an affine layer reads its input's bounds as center and radius, and the backward carries the
/// gradient of each layer's z-bounds as dμ = dlower + dupper and dρ = dupper − dlower, the form the affine
/// layers' products consume.
/// </summary>
internal sealed class CpuIntervalWorkspace
{
    public CpuIntervalWorkspace(NetworkArchitecture architecture, IReadOnlyList<CpuWeights?> weights, int capacity, int width)
    {
        Capacity = capacity;
        long padded = CpuLayout.RoundUp(capacity, width);
        InputLower = new AlignedBuffer(architecture.InputSize * padded);
        InputUpper = new AlignedBuffer(architecture.InputSize * padded);
        int layers = architecture.Layers.Length;
        Lower = new AlignedBuffer[layers];
        Upper = new AlignedBuffer[layers];
        ZLower = new AlignedBuffer[layers];
        ZUpper = new AlignedBuffer[layers];
        Center = new AlignedBuffer[layers];
        Radius = new AlignedBuffer[layers];
        Magnitudes = new AlignedBuffer[layers];
        CenterGradients = new AlignedBuffer[layers];
        RadiusGradients = new AlignedBuffer[layers];
        AbsoluteWeights = new AlignedBuffer[layers];
        RowAbsoluteSums = new AlignedBuffer[layers];
        WeightGradients = new AlignedBuffer[layers];
        BiasGradients = new AlignedBuffer[layers];
        for (int l = 0; l < layers; l++)
        {
            LayerArchitecture layer = architecture.Layers[l];
            long units = layer.Units * padded, inputs = weights[l] is null ? 0 : layer.Inputs * padded;
            Lower[l] = new AlignedBuffer(units);
            Upper[l] = new AlignedBuffer(units);
            ZLower[l] = new AlignedBuffer(units);
            ZUpper[l] = new AlignedBuffer(units);
            CenterGradients[l] = new AlignedBuffer(units);
            RadiusGradients[l] = new AlignedBuffer(units);
            Center[l] = new AlignedBuffer(inputs);
            Radius[l] = new AlignedBuffer(inputs);
            Magnitudes[l] = new AlignedBuffer(inputs == 0 ? 0 : padded);
            AbsoluteWeights[l] = new AlignedBuffer(weights[l]?.Weights.Length ?? 0);
            RowAbsoluteSums[l] = new AlignedBuffer(weights[l]?.Bias.Length ?? 0);
            WeightGradients[l] = new AlignedBuffer(weights[l]?.Weights.Length ?? 0);
            BiasGradients[l] = new AlignedBuffer(weights[l]?.Bias.Length ?? 0);
        }

        FirstScratch = new AlignedBuffer(architecture.MaxWidth * padded);
        SecondScratch = new AlignedBuffer(architecture.MaxWidth * padded);
        Losses = new float[capacity];
        LossWeights = new float[capacity];
        Labels = new int[capacity];
        int elided = layers > 1 ? architecture.Layers[^1].Inputs : 0;
        CenterRows = new AlignedBuffer((long)capacity * elided);
        RadiusRows = new AlignedBuffer((long)capacity * elided);
        ClassGradients = new AlignedBuffer((long)capacity * architecture.OutputSize);
    }

    public int Capacity { get; }

    /// <summary>The boxes' ends, (InputSize, P); padding columns zero.</summary>
    public AlignedBuffer InputLower { get; }

    public AlignedBuffer InputUpper { get; }

    /// <summary>Per layer, the bounds of y = f(z): (Units, P).</summary>
    public AlignedBuffer[] Lower { get; }

    public AlignedBuffer[] Upper { get; }

    /// <summary>Per layer, the bounds of z: (Units, P); an affine layer's product parks μ in <see cref="ZLower"/> first.</summary>
    public AlignedBuffer[] ZLower { get; }

    public AlignedBuffer[] ZUpper { get; }

    /// <summary>Per layer with weights, the center (lower + upper) / 2 of its input's bounds: (Inputs, P).</summary>
    public AlignedBuffer[] Center { get; }

    /// <summary>Per layer with weights, the radius (upper − lower) / 2 of its input's bounds: (Inputs, P).</summary>
    public AlignedBuffer[] Radius { get; }

    /// <summary>Per layer with weights, per sample, the largest magnitude of its input's bounds: (P), for the margins.</summary>
    public AlignedBuffer[] Magnitudes { get; }

    /// <summary>Per layer, dL/dμ of its z-bounds: (Units, P).</summary>
    public AlignedBuffer[] CenterGradients { get; }

    /// <summary>Per layer, dL/dρ of its z-bounds: (Units, P).</summary>
    public AlignedBuffer[] RadiusGradients { get; }

    /// <summary>Per layer with weights, |W| in W's layout (<see cref="CpuWeights"/>), recomputed by every pass.</summary>
    public AlignedBuffer[] AbsoluteWeights { get; }

    /// <summary>Per layer with weights, Σ_i |W[o, i]| for each row o.</summary>
    public AlignedBuffer[] RowAbsoluteSums { get; }

    /// <summary>Per layer with weights, dL/dW in W's layout: certified training's step reads it.</summary>
    public AlignedBuffer[] WeightGradients { get; }

    public AlignedBuffer[] BiasGradients { get; }

    /// <summary>Scratch for a layer's backward: dL/dcenter of its input, (MaxWidth, P); or a pooling layer's routed gradients.</summary>
    public AlignedBuffer FirstScratch { get; }

    public AlignedBuffer SecondScratch { get; }

    /// <summary>Per sample: its interval loss, the weight of that loss in the pass's total, and its label.</summary>
    public float[] Losses { get; }

    public float[] LossWeights { get; }

    public int[] Labels { get; }

    /// <summary>The elided last layer's input bounds as sample-major center and radius rows: (Capacity, Inputs of the last layer).</summary>
    public AlignedBuffer CenterRows { get; }

    public AlignedBuffer RadiusRows { get; }

    /// <summary>dL/dd_k of each sample's logit differences (sample-major, weighted, 0 at the label): (Capacity, OutputSize).</summary>
    public AlignedBuffer ClassGradients { get; }
}

/// <summary>z = (W c) + b, stored: the center of an affine layer's bounds, which <see cref="IntervalEpilogue{TActivation}"/> then reads back.</summary>
internal readonly unsafe struct BiasEpilogue(float* bias, float* destination, nint stride) : ITileEpilogue
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Row<TVector, TOps>(int row, int column, int vectors, TVector c0, TVector c1, TVector c2, TVector c3)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        TVector b = TOps.Broadcast(bias[row]);
        float* at = destination + row * stride + column;
        int width = TOps.Count;
        TOps.Store(at, TOps.Add(c0, b));
        if (vectors > 1) { TOps.Store(at + width, TOps.Add(c1, b)); }
        if (vectors > 2) { TOps.Store(at + 2 * width, TOps.Add(c2, b)); }
        if (vectors > 3) { TOps.Store(at + 3 * width, TOps.Add(c3, b)); }
    }
}

/// <summary>
/// The bounds of an affine layer, from the radius's product ρ = |W| r and the center μ = W c + b stored before it:
/// z in [μ − ρ, μ + ρ], widened when sound by the margin of <see cref="IntervalRounding.AffineRelative"/>; then y's bounds
/// by the activation's interval rule (<see cref="ActivationIntervals{TActivation}"/>). Writes both z's and y's.
/// </summary>
internal readonly unsafe struct IntervalEpilogue<TActivation> : ITileEpilogue
    where TActivation : struct, IActivationKernel
{
    private readonly float* _zLower, _zUpper, _lower, _upper;
    private readonly nint _stride;

    // The margin: relative · (|b| + magnitude · Σ|W[row]|) + absolute · (1 + Σ|W[row]|); none when not sound (training).
    private readonly float* _bias, _rowAbsoluteSums, _magnitudes;
    private readonly int _samples;
    private readonly float _relative, _absolute;
    private readonly bool _sound;

    /// <param name="zLower">Holds μ on entry; receives z's lower bounds.</param>
    /// <param name="zUpper">Receives z's upper bounds.</param>
    /// <param name="lower">Receives y's lower bounds.</param>
    /// <param name="upper">Receives y's upper bounds.</param>
    /// <param name="stride">The distance between two rows of all four.</param>
    /// <param name="sound">Whether to widen the bounds by the margins (every pass but a training one).</param>
    /// <param name="bias">The layer's bias, for the margin.</param>
    /// <param name="rowAbsoluteSums">Σ_i |W[o, i]| per row o, for the margin.</param>
    /// <param name="magnitudes">Per sample, the largest magnitude of the input's bounds: the sample of column j is j mod <paramref name="samples"/>.</param>
    /// <param name="samples">P, the padded batch.</param>
    /// <param name="terms">The products in each output: the n of the margin.</param>
    public IntervalEpilogue(float* zLower, float* zUpper, float* lower, float* upper, nint stride, bool sound, float* bias, float* rowAbsoluteSums, float* magnitudes, int samples, int terms)
    {
        _zLower = zLower;
        _zUpper = zUpper;
        _lower = lower;
        _upper = upper;
        _stride = stride;
        _sound = sound;
        _bias = bias;
        _rowAbsoluteSums = rowAbsoluteSums;
        _magnitudes = magnitudes;
        _samples = samples;
        _relative = IntervalRounding.AffineRelative(terms);
        _absolute = IntervalRounding.AffineAbsolute(terms);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Row<TVector, TOps>(int row, int column, int vectors, TVector c0, TVector c1, TVector c2, TVector c3)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        int width = TOps.Count;
        Finish<TVector, TOps>(row, column, c0);
        if (vectors > 1) { Finish<TVector, TOps>(row, column + width, c1); }
        if (vectors > 2) { Finish<TVector, TOps>(row, column + 2 * width, c2); }
        if (vectors > 3) { Finish<TVector, TOps>(row, column + 3 * width, c3); }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Finish<TVector, TOps>(int row, int column, TVector radius)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        nint at = row * _stride + column;
        TVector center = TOps.Load(_zLower + at);
        if (_sound)
        {
            float rowSum = _rowAbsoluteSums[row];
            TVector magnitude = TOps.Load(_magnitudes + column % _samples);
            TVector scale = TOps.MultiplyAdd(magnitude, TOps.Broadcast(rowSum), TOps.Broadcast(MathF.Abs(_bias[row])));
            radius = TOps.Add(TOps.MultiplyAdd(scale, TOps.Broadcast(_relative), radius), TOps.Broadcast(_absolute * (1 + rowSum)));
        }

        TVector lo = TOps.Subtract(center, radius), hi = TOps.Add(center, radius);
        TOps.Store(_zLower + at, lo);
        TOps.Store(_zUpper + at, hi);
        ActivationIntervals<TActivation>.Bounds<TVector, TOps>(lo, hi, _sound, out TVector lower, out TVector upper);
        TOps.Store(_lower + at, lower);
        TOps.Store(_upper + at, upper);
    }
}

/// <summary>
/// The backward of an affine layer's bounds to its input, fused with the layer below's interval rule: the sums are
/// dL/dr = |W|ᵀ dρ, and dL/dc = Wᵀ dμ was stored by the product before; with c = (lower + upper) / 2 and
/// r = (upper − lower) / 2 they give dL/d(lower, upper) of the layer below's y, which its activation's rule turns into
/// dμ and dρ of its z.
/// </summary>
internal readonly unsafe struct IntervalBackwardEpilogue<TBelow>(float* centerGradients, float* zLower, float* zUpper, float* belowCenterGradients, float* belowRadiusGradients, nint stride) : ITileEpilogue
    where TBelow : struct, IActivationKernel
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Row<TVector, TOps>(int row, int column, int vectors, TVector c0, TVector c1, TVector c2, TVector c3)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        nint at = row * stride + column;
        int width = TOps.Count;
        Finish<TVector, TOps>(at, c0);
        if (vectors > 1) { Finish<TVector, TOps>(at + width, c1); }
        if (vectors > 2) { Finish<TVector, TOps>(at + 2 * width, c2); }
        if (vectors > 3) { Finish<TVector, TOps>(at + 3 * width, c3); }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Finish<TVector, TOps>(nint at, TVector radiusGradient)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        TVector centerGradient = TOps.Load(centerGradients + at), half = TOps.Broadcast(0.5f);
        TVector dLower = TOps.Multiply(TOps.Subtract(centerGradient, radiusGradient), half);
        TVector dUpper = TOps.Multiply(TOps.Add(centerGradient, radiusGradient), half);
        IntervalBackwardRule.Store<TVector, TOps, TBelow>(TOps.Load(zLower + at), TOps.Load(zUpper + at), dLower, dUpper, belowCenterGradients + at, belowRadiusGradients + at);
    }
}

/// <summary>dW += sign(W) ⊙ sums: the radius's share of an affine layer's weight gradient, since ρ = |W| r.</summary>
internal readonly unsafe struct SignedAddEpilogue(float* gradients, float* weights, nint stride) : ITileEpilogue
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Row<TVector, TOps>(int row, int column, int vectors, TVector c0, TVector c1, TVector c2, TVector c3)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        nint at = row * stride + column;
        int width = TOps.Count;
        Finish<TVector, TOps>(at, c0);
        if (vectors > 1) { Finish<TVector, TOps>(at + width, c1); }
        if (vectors > 2) { Finish<TVector, TOps>(at + 2 * width, c2); }
        if (vectors > 3) { Finish<TVector, TOps>(at + 3 * width, c3); }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Finish<TVector, TOps>(nint at, TVector sum)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        TVector w = TOps.Load(weights + at);
        TVector sign = TOps.WhereGreater(w, default, TOps.Broadcast(1f), TOps.WhereGreater(default, w, TOps.Broadcast(-1f), default));
        TOps.Store(gradients + at, TOps.MultiplyAdd(sign, sum, TOps.Load(gradients + at)));
    }
}

/// <summary>Helpers of the interval backward that every kind shares.</summary>
internal static unsafe class IntervalBackwardRule
{
    /// <summary>
    /// From dL/d(lower, upper) of a layer's y-bounds, through its activation's interval rule at its z-bounds, to dμ and dρ
    /// of those z-bounds, stored at <paramref name="centerGradient"/> and <paramref name="radiusGradient"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<TVector, TOps, TActivation>(TVector zLower, TVector zUpper, TVector dLower, TVector dUpper, float* centerGradient, float* radiusGradient)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TActivation : struct, IActivationKernel
    {
        ActivationIntervals<TActivation>.Backward<TVector, TOps>(zLower, zUpper, dLower, dUpper, out TVector dzLower, out TVector dzUpper);
        TOps.Store(centerGradient, TOps.Add(dzLower, dzUpper));
        TOps.Store(radiusGradient, TOps.Subtract(dzUpper, dzLower));
    }
}

/// <summary>Lane-wise magnitude and maximum from <see cref="IVectorOps{TVector}"/>'s selects.</summary>
internal static class IntervalVectors
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector Abs<TVector, TOps>(TVector x)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector> => TOps.WhereGreater(x, default, x, TOps.Subtract(default, x));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector Max<TVector, TOps>(TVector a, TVector b)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector> => TOps.WhereGreater(a, b, a, b);
}
