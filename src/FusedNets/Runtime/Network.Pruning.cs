namespace FusedNets;

// Pruning: masks made from the weights' magnitudes, which then act as declared masks do.
public abstract partial class Network
{
    /// <summary>
    /// Prunes every layer with weights: each keeps the round(<paramref name="keepFraction"/> × n) weights of largest
    /// magnitude among its own n (see <see cref="Layer.Prune"/>), or with <paramref name="global"/> one threshold across
    /// the layers keeps that fraction of all their weights together, so that layers whose weights are larger keep more.
    /// On equal magnitudes the earlier layer, then the lower index, is kept. Pruned weights are zeroed with their momentum
    /// and stay zero through all later training, saving and loading.
    /// </summary>
    /// <param name="keepFraction">The fraction of the weights to keep, in [0, 1].</param>
    /// <param name="global">One magnitude threshold for all layers instead of one fraction per layer.</param>
    /// <remarks>
    /// Iterative magnitude pruning with rewinding (Frankle and Carbin, 2019) is a loop of <c>Fit</c>, <c>Prune</c>
    /// with a smaller fraction each round, and <see cref="SetParameters"/> with the parameters saved at initialization
    /// (<see cref="CopyParametersTo"/>): the masks survive <see cref="SetParameters"/>, which zeroes the pruned weights again.
    /// </remarks>
    public void Prune(float keepFraction, bool global = false)
    {
        int[] layers = [.. Enumerable.Range(0, Architecture.Layers.Length).Where(l => Architecture.Layers[l].Weight is not null)];
        if (layers.Length == 0)
        {
            throw new InvalidOperationException($"{Architecture.Name} has no layer with weights to prune.");
        }

        Prune(layers, keepFraction, global);
    }

    /// <summary>Layer <paramref name="layer"/>'s pruning, for <see cref="Layer.Prune"/>.</summary>
    internal void PruneLayer(int layer, float keepFraction) => Prune([layer], keepFraction, global: false);

    /// <summary>The mask of layer <paramref name="layer"/> now: declared, or made by pruning.</summary>
    internal LayerMask MaskOf(int layer)
    {
        lock (_gate)
        {
            return _layerMasks[layer];
        }
    }

    /// <summary>Copies of the parameters (every mask applied) and of each layer's mask, for analyses that read them as they are.</summary>
    internal (float[] Parameters, float[]?[] Masks) ReadModel()
    {
        lock (_gate)
        {
            PrepareEngine();
            SyncHostParameters();
            return ((float[])_parameters.Clone(), [.. _masks.Select(mask => (float[]?)mask?.Clone())]);
        }
    }

    private void Prune(int[] layers, float keepFraction, bool global)
    {
        if (!float.IsFinite(keepFraction) || keepFraction < 0 || keepFraction > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(keepFraction), keepFraction, "The fraction of weights to keep must be in [0, 1].");
        }

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            PrepareEngine();
            SyncHostParameters();
            if (global)
            {
                KeepLargest(layers, keepFraction);
            }
            else
            {
                foreach (int layer in layers)
                {
                    KeepLargest([layer], keepFraction);
                }
            }

            ApplyMasks(_parameters);
            _engine.WriteParameters(_parameters);
            var momentum = new float[Architecture.ParameterCount];
            _engine.ReadMomentum(momentum);
            ApplyMasks(momentum);
            _engine.WriteMomentum(momentum);
        }
    }

    /// <summary>
    /// Keeps the round(keepFraction × n) largest-magnitude weights of the <paramref name="layers"/> together (n: all
    /// their weights), among those their masks keep now, and installs the new masks of the layers that lose any.
    /// </summary>
    private void KeepLargest(int[] layers, float keepFraction)
    {
        long weights = layers.Sum(l => (long)Architecture.Layers[l].WeightCount);
        long keep = (long)Math.Round((double)keepFraction * weights, MidpointRounding.ToEven);
        var candidates = new List<(float Magnitude, int Layer, int Index)>();
        foreach (int l in layers)
        {
            float[]? mask = _masks[l];
            ReadOnlySpan<float> values = _parameters.AsSpan(Architecture.WeightOffset(l), Architecture.Layers[l].WeightCount);
            for (int i = 0; i < values.Length; i++)
            {
                if (mask is null || mask[i] != 0)
                {
                    candidates.Add((Math.Abs(values[i]), l, i));
                }
            }
        }

        if (keep >= candidates.Count)
        {
            return;
        }

        // Largest magnitude first; on ties the earlier layer, then the lower index.
        candidates.Sort((a, b) => a.Magnitude != b.Magnitude ? b.Magnitude.CompareTo(a.Magnitude)
            : a.Layer != b.Layer ? a.Layer.CompareTo(b.Layer)
            : a.Index.CompareTo(b.Index));
        var masks = layers.ToDictionary(l => l, l => new float[Architecture.Layers[l].WeightCount]);
        for (int k = 0; k < keep; k++)
        {
            masks[candidates[k].Layer][candidates[k].Index] = 1;
        }

        foreach ((int l, float[] mask) in masks)
        {
            SetMask(l, mask);
        }
    }

    /// <summary>Makes <paramref name="mask"/> (1 kept, 0 fixed at zero) layer <paramref name="layer"/>'s mask on the host and the engine.</summary>
    private void SetMask(int layer, float[] mask)
    {
        _masks[layer] = mask;
        _layerMasks[layer] = LayerMask.Pruned(mask, Architecture.Layers[layer].WeightMatrix.Columns);
        _engine.SetMask(layer, mask);
    }
}
