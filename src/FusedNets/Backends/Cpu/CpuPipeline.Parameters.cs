using FusedNets.Backends;
using FusedNets.Backends.Cpu;

namespace FusedNets.Generated;

// The flat parameter vector (NetworkArchitecture's layout) and the layers' own layouts.
public sealed partial class CpuPipeline<TVector, TOps>
{
    void INetworkEngine.ReadParameters(Span<float> destination)
    {
        for (int l = 0; l < _layers.Length; l++)
        {
            if (_layers[l].Weights is { } weights)
            {
                weights.Write(weights.Weights, weights.Bias, destination[_architecture.ParameterOffset(l)..]);
            }
        }
    }

    void INetworkEngine.WriteParameters(ReadOnlySpan<float> source)
    {
        for (int l = 0; l < _layers.Length; l++)
        {
            if (_layers[l].Weights is not { } weights)
            {
                continue;
            }

            weights.Read(source[_architecture.ParameterOffset(l)..], weights.Weights, weights.Bias);
            if (weights.Mask is { } mask)
            {
                // The caller promises masked weights are zero; enforcing it here keeps them exactly zero forever.
                Span<float> values = weights.Weights.AsSpan();
                ReadOnlySpan<float> keep = mask.AsSpan();
                for (int i = 0; i < values.Length; i++)
                {
                    values[i] *= keep[i];
                }
            }
        }
    }

    void INetworkEngine.ReadMomentum(Span<float> destination)
    {
        for (int l = 0; l < _layers.Length; l++)
        {
            if (_layers[l].Weights is { } weights)
            {
                weights.Write(weights.WeightMoments, weights.BiasMoments, destination[_architecture.ParameterOffset(l)..]);
            }
        }
    }

    void INetworkEngine.WriteMomentum(ReadOnlySpan<float> source)
    {
        for (int l = 0; l < _layers.Length; l++)
        {
            if (_layers[l].Weights is { } weights)
            {
                weights.Read(source[_architecture.ParameterOffset(l)..], weights.WeightMoments, weights.BiasMoments);
            }
        }
    }

    void INetworkEngine.ReadSecondMoment(Span<float> destination)
    {
        for (int l = 0; l < _layers.Length; l++)
        {
            if (_layers[l].Weights is { } weights)
            {
                Span<float> layer = destination.Slice(_architecture.ParameterOffset(l), _layers[l].Architecture.ParameterCount);
                if (weights.HasSecondMoments)
                {
                    weights.Write(weights.WeightSecondMoments, weights.BiasSecondMoments, layer);
                }
                else
                {
                    layer.Clear();
                }
            }
        }
    }

    void INetworkEngine.WriteSecondMoment(ReadOnlySpan<float> source)
    {
        for (int l = 0; l < _layers.Length; l++)
        {
            if (_layers[l].Weights is { } weights)
            {
                weights.EnsureSecondMoments();
                weights.Read(source[_architecture.ParameterOffset(l)..], weights.WeightSecondMoments, weights.BiasSecondMoments);
            }
        }
    }

    void INetworkEngine.SetMask(int layer, float[]? mask)
    {
        CpuLayer<TVector, TOps> cpuLayer = _layers[layer];
        if (cpuLayer.Weights is not { } weights)
        {
            throw new InvalidOperationException($"Layer '{cpuLayer.Architecture.Name}' has no weights to mask.");
        }

        weights.SetMask(mask);

        // A layer's own scratch may depend on its mask (a sparse dense layer's update reads no sample-major copy).
        if (_workspace is not null)
        {
            cpuLayer.EnsureCapacity(_workspace.Capacity, CpuLayout.RoundUp(_workspace.Capacity, TOps.Count));
        }
    }
}
