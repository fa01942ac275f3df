using FusedNets.Generated;
using System.Runtime.CompilerServices;

namespace FusedNets.Backends.Cpu;

// The three ways a dense layer finishes a tile of its products, applied while the sums are still in
// registers. Shapes, with P the batch padded to whole vectors:
//   forward:        zᵀ = W xᵀ + b,  yᵀ = f(zᵀ)           zᵀ, yᵀ: (Units, P)
//   backward data:  dzᵀ_below = (Wᵀ dzᵀ) ⊙ f'(z, y)_below  dzᵀ_below: (Inputs, P)
//   weight update:  dW = dzᵀ x, then W, V updated by SGD    dW: (Units, Inputs padded), never stored

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
/// The weight gradient dW = dzᵀ x fused with the SGD step: each tile's gradients go straight from
/// registers into the update of W and its velocity, so the gradient never round-trips through memory.
/// Masked weights get a zero gradient, so with zero weight and velocity they stay exactly zero.
/// </summary>
/// <remarks>
/// The step reads the current W and V and writes the layer's next buffers, so a step found non-finite can be
/// dropped. Finding it costs no pass of its own: every new weight and velocity times zero (0 when finite, NaN
/// otherwise) is added into this thread's <c>nonFinite</c> vector, which therefore stays exactly zero unless
/// some value of the step is NaN or infinite.
/// </remarks>
internal readonly unsafe struct UpdateEpilogue : ITileEpilogue
{
    private readonly float* _weights;
    private readonly float* _velocities;
    private readonly float* _nextWeights;
    private readonly float* _nextVelocities;
    private readonly float* _mask;
    private readonly float* _nonFinite;
    private readonly nint _stride;
    private readonly SgdStep _sgd;
    private readonly bool _streaming;

    // mask: 1 where a weight trains and 0 where it is fixed at zero, in the weights' layout; null for a dense layer.
    // nonFinite: one vector, this thread's own, that the caller zeroed.
    // streaming: write the next buffers around the caches, for parameters too large to stay cached until the next step.
    public UpdateEpilogue(float* weights, float* velocities, float* nextWeights, float* nextVelocities, float* mask, float* nonFinite, nint stride, SgdStep sgd, bool streaming)
    {
        _streaming = streaming;
        _weights = weights;
        _velocities = velocities;
        _nextWeights = nextWeights;
        _nextVelocities = nextVelocities;
        _mask = mask;
        _nonFinite = nonFinite;
        _stride = stride;
        _sgd = sgd;
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

    /// <summary>Updates one vector of weights; returns zeros if the new weights and velocities are finite, else some NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private TVector Finish<TVector, TOps>(nint offset, TVector gradient)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        if (_mask != null)
        {
            gradient = TOps.Multiply(gradient, TOps.Load(_mask + offset));
        }

        TVector velocity = TOps.Load(_velocities + offset);
        TVector weight = UpdateWeight<TVector, TOps>(_sgd, TOps.Load(_weights + offset), ref velocity, gradient);
        if (_streaming)
        {
            TOps.StoreNonTemporal(_nextVelocities + offset, velocity);
            TOps.StoreNonTemporal(_nextWeights + offset, weight);
        }
        else
        {
            TOps.Store(_nextVelocities + offset, velocity);
            TOps.Store(_nextWeights + offset, weight);
        }
        TVector zero = TOps.Broadcast(0f);
        return TOps.Add(TOps.Multiply(weight, zero), TOps.Multiply(velocity, zero));
    }

    /// <summary>
    /// <see cref="SgdStep.UpdateWeight"/> on every lane at once: the same operations in the same order
    /// (no fused multiply-adds), so each lane's result is bit for bit the scalar rule's, which a test checks.
    /// The scalar rule is the definition; this is its vector transcription, kept beside its only caller.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TVector UpdateWeight<TVector, TOps>(in SgdStep sgd, TVector weight, ref TVector velocity, TVector gradient)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        TVector momentum = TOps.Broadcast(sgd.Momentum);
        gradient = TOps.Add(gradient, TOps.Multiply(TOps.Broadcast(sgd.WeightDecay), weight));
        velocity = TOps.Add(TOps.Multiply(momentum, velocity), gradient);
        TVector step = sgd.Nesterov != 0 ? TOps.Add(gradient, TOps.Multiply(momentum, velocity)) : velocity;
        return TOps.Subtract(weight, TOps.Multiply(TOps.Broadcast(sgd.LearningRate), step));
    }
}
