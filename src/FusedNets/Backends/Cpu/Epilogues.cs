using FusedNets.Generated;
using System.Runtime.CompilerServices;

namespace FusedNets.Backends.Cpu;

// The three ways a dense layer finishes a tile of its products, applied while the sums are still in
// registers. Shapes, with P the batch padded to whole vectors:
//   forward:        zᵀ = W xᵀ + b,  yᵀ = f(zᵀ)           zᵀ, yᵀ: (Units, P)
//   backward data:  dzᵀ_below = (Wᵀ dzᵀ) ⊙ f'(z, y)_below  dzᵀ_below: (Inputs, P)
//   weight update:  dW = dzᵀ x, then W and its moments      dW: (Units, Inputs padded), never stored
//                   updated by the optimizer's rule

/// <summary>Forward: z = (W x) + b, y = f(z); saves z and y, which the backward's derivative reads.</summary>
internal readonly unsafe struct ForwardEpilogue<TActivation> : ITileEpilogue
    where TActivation : IActivationKernel
{
    private readonly float* _bias;
    private readonly float* _preActivations;
    private readonly float* _activations;
    private readonly nint _stride;

    public ForwardEpilogue(float* bias, float* preActivations, float* activations, nint stride)
    {
        _bias = bias;
        _preActivations = preActivations;
        _activations = activations;
        _stride = stride;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Row<TVector, TOps>(int row, int column, int vectors, TVector c0, TVector c1, TVector c2, TVector c3)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        TVector bias = TOps.Broadcast(_bias[row]);
        nint offset = row * _stride + column;
        float* z = _preActivations + offset;
        float* y = _activations + offset;
        int width = TOps.Count;
        Finish<TVector, TOps>(z, y, TOps.Add(c0, bias));
        if (vectors > 1) { Finish<TVector, TOps>(z + width, y + width, TOps.Add(c1, bias)); }
        if (vectors > 2) { Finish<TVector, TOps>(z + 2 * width, y + 2 * width, TOps.Add(c2, bias)); }
        if (vectors > 3) { Finish<TVector, TOps>(z + 3 * width, y + 3 * width, TOps.Add(c3, bias)); }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish<TVector, TOps>(float* z, float* y, TVector preActivation)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        TOps.Store(z, preActivation);
        TOps.Store(y, TActivation.Apply<TVector, TOps>(preActivation));
    }
}

/// <summary>
/// Backward data, for a layer with a layer below: the sum is dL/dy_below = Wᵀ dz, and the derivative of
/// the layer below (y_below = f(z_below)) turns it into that layer's delta, dz_below = dL/dy_below ⊙ f'.
/// </summary>
internal readonly unsafe struct BackwardEpilogue<TActivation> : ITileEpilogue
    where TActivation : IActivationKernel
{
    private readonly float* _preActivations;
    private readonly float* _activations;
    private readonly float* _deltas;
    private readonly nint _stride;

    public BackwardEpilogue(float* preActivations, float* activations, float* deltas, nint stride)
    {
        _preActivations = preActivations;
        _activations = activations;
        _deltas = deltas;
        _stride = stride;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Row<TVector, TOps>(int row, int column, int vectors, TVector c0, TVector c1, TVector c2, TVector c3)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        nint offset = row * _stride + column;
        int width = TOps.Count;
        Finish<TVector, TOps>(offset, c0);
        if (vectors > 1) { Finish<TVector, TOps>(offset + width, c1); }
        if (vectors > 2) { Finish<TVector, TOps>(offset + 2 * width, c2); }
        if (vectors > 3) { Finish<TVector, TOps>(offset + 3 * width, c3); }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Finish<TVector, TOps>(nint offset, TVector gradient)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        TVector derivative = TActivation.Derivative<TVector, TOps>(TOps.Load(_preActivations + offset), TOps.Load(_activations + offset));
        TOps.Store(_deltas + offset, TOps.Multiply(gradient, derivative));
    }
}

/// <summary>Backward data for the first layer: the sum is the loss's gradient with respect to the inputs, stored as is.</summary>
internal readonly unsafe struct StoreEpilogue : ITileEpilogue
{
    private readonly float* _destination;
    private readonly nint _stride;

    public StoreEpilogue(float* destination, nint stride)
    {
        _destination = destination;
        _stride = stride;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Row<TVector, TOps>(int row, int column, int vectors, TVector c0, TVector c1, TVector c2, TVector c3)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        float* destination = _destination + row * _stride + column;
        int width = TOps.Count;
        TOps.Store(destination, c0);
        if (vectors > 1) { TOps.Store(destination + width, c1); }
        if (vectors > 2) { TOps.Store(destination + 2 * width, c2); }
        if (vectors > 3) { TOps.Store(destination + 3 * width, c3); }
    }
}

/// <summary>
/// The weight gradient dW = dzᵀ x fused with the optimizer step of <typeparamref name="TRule"/>: each tile's gradients go
/// straight from registers into the update of W and its moments, so the gradient never round-trips through memory.
/// Masked weights get a zero gradient, so with zero weight and moments they stay exactly zero under every rule.
/// </summary>
/// <remarks>
/// The step reads the current W and moments and writes the layer's next buffers, so a step found non-finite can be
/// dropped. Finding it costs no pass of its own: every new weight and moment times zero (0 when finite, NaN
/// otherwise) is added into this thread's <c>nonFinite</c> vector, which therefore stays exactly zero unless
/// some value of the step is NaN or infinite. A rule without a second moment never touches those buffers: the JIT
/// drops the branches on <see cref="IUpdateRule.HasSecondMoment"/>, a constant of the rule's type.
/// <para>
/// Not a readonly struct: the tile kernel holds it by reference, and the rule, a field of unknown readonly-ness, is
/// then called without being copied for every vector.
/// </para>
/// </remarks>
internal unsafe struct UpdateEpilogue<TRule> : ITileEpilogue
    where TRule : struct, IUpdateRule
{
    private readonly float* _weights;
    private readonly float* _moments;
    private readonly float* _secondMoments;
    private readonly float* _nextWeights;
    private readonly float* _nextMoments;
    private readonly float* _nextSecondMoments;
    private readonly float* _mask;
    private readonly float* _nonFinite;
    private readonly nint _stride;
    private TRule _rule;
    private readonly bool _streaming;

    // mask: 1 where a weight trains and 0 where it is fixed at zero, in the weights' layout; null for a dense layer.
    // nonFinite: one vector, this thread's own, that the caller zeroed.
    // streaming: write the next buffers around the caches, for parameters too large to stay cached until the next step.
    public UpdateEpilogue(CpuWeights weights, float* nonFinite, TRule rule, bool streaming, int firstColumn = 0)
    {
        // Column 0 of the tiles is column firstColumn of W: one block of a block-diagonal layer starts there.
        _weights = weights.Weights.Pointer + firstColumn;
        _moments = weights.WeightMoments.Pointer + firstColumn;
        _secondMoments = weights.WeightSecondMoments.Pointer + firstColumn;
        _nextWeights = weights.NextWeights.Pointer + firstColumn;
        _nextMoments = weights.NextWeightMoments.Pointer + firstColumn;
        _nextSecondMoments = weights.NextWeightSecondMoments.Pointer + firstColumn;
        _mask = weights.Mask is null ? null : weights.Mask.Pointer + firstColumn;
        _nonFinite = nonFinite;
        _stride = weights.WeightStride;
        _rule = rule;
        _streaming = streaming;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Row<TVector, TOps>(int row, int column, int vectors, TVector c0, TVector c1, TVector c2, TVector c3)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        nint offset = row * _stride + column;
        int width = TOps.Count;
        TVector nonFinite = Finish<TVector, TOps>(offset, c0);
        if (vectors > 1) { nonFinite = TOps.Add(nonFinite, Finish<TVector, TOps>(offset + width, c1)); }
        if (vectors > 2) { nonFinite = TOps.Add(nonFinite, Finish<TVector, TOps>(offset + 2 * width, c2)); }
        if (vectors > 3) { nonFinite = TOps.Add(nonFinite, Finish<TVector, TOps>(offset + 3 * width, c3)); }
        TOps.Store(_nonFinite, TOps.Add(TOps.Load(_nonFinite), nonFinite));
    }

    /// <summary>Updates one vector of weights; returns zeros if the new weights and moments are finite, else some NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private TVector Finish<TVector, TOps>(nint offset, TVector gradient)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        if (_mask != null)
        {
            gradient = TOps.Multiply(gradient, TOps.Load(_mask + offset));
        }

        TVector moment = TOps.Load(_moments + offset);
        TVector secondMoment = TRule.HasSecondMoment ? TOps.Load(_secondMoments + offset) : default;
        TVector weight = _rule.UpdateWeight<TVector, TOps>(TOps.Load(_weights + offset), ref moment, ref secondMoment, gradient);
        Store<TVector, TOps>(_nextMoments + offset, moment);
        Store<TVector, TOps>(_nextWeights + offset, weight);
        TVector zero = TOps.Broadcast(0f);
        TVector nonFinite = TOps.Add(TOps.Multiply(weight, zero), TOps.Multiply(moment, zero));
        if (TRule.HasSecondMoment)
        {
            Store<TVector, TOps>(_nextSecondMoments + offset, secondMoment);
            nonFinite = TOps.Add(nonFinite, TOps.Multiply(secondMoment, zero));
        }

        return nonFinite;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Store<TVector, TOps>(float* destination, TVector value)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        if (_streaming)
        {
            TOps.StoreNonTemporal(destination, value);
        }
        else
        {
            TOps.Store(destination, value);
        }
    }
}
