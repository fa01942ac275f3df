namespace FusedNets.Backends.Cpu;

// The flat parameter vector (NetworkArchitecture's layout) and the layers' own layouts.
public sealed partial class CpuPipeline<TVector, TOps>
{
    public void ReadParameters(Span<float> destination)
    {
        for (int l = 0; l < _layers.Length; l++)
        {
            if (_layers[l].Weights is { } weights)
            {
                weights.Write(weights.Weights, weights.Bias, destination[_architecture.ParameterOffset(l)..]);
            }
        }
    }

    public void WriteParameters(ReadOnlySpan<float> source)
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

    public void ReadMomentum(Span<float> destination)
    {
        for (int l = 0; l < _layers.Length; l++)
        {
            if (_layers[l].Weights is { } weights)
            {
                weights.Write(weights.WeightVelocities, weights.BiasVelocities, destination[_architecture.ParameterOffset(l)..]);
            }
        }
    }

    public void WriteMomentum(ReadOnlySpan<float> source)
    {
        for (int l = 0; l < _layers.Length; l++)
        {
            if (_layers[l].Weights is { } weights)
            {
                weights.Read(source[_architecture.ParameterOffset(l)..], weights.WeightVelocities, weights.BiasVelocities);
            }
        }
    }
}
