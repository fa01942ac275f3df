using System.Collections.Immutable;

namespace FusedNets;

/// <summary>
/// The shape of a declared network, as the generator checked it: the input width, the dense layers in order,
/// and the loss. Parameters are laid out in one flat vector: for each layer its weights, row-major
/// [units, inputs] (PyTorch's layout), then its bias.
/// </summary>
public sealed class NetworkArchitecture
{
    private readonly int[] _weightOffsets;

    public NetworkArchitecture(string name, Loss loss, string inputName, int inputSize, ImmutableArray<DenseLayerArchitecture> layers)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputSize);
        if (layers.IsDefaultOrEmpty)
        {
            throw new ArgumentException("A network needs at least one dense layer.", nameof(layers));
        }

        Name = name;
        Loss = loss;
        InputName = inputName;
        InputSize = inputSize;
        Layers = layers;

        _weightOffsets = new int[layers.Length];
        long offset = 0;
        int width = inputSize;
        for (int i = 0; i < layers.Length; i++)
        {
            DenseLayerArchitecture layer = layers[i];
            if (layer.Inputs != width)
            {
                throw new ArgumentException($"Layer '{layer.Name}' expects {layer.Inputs} inputs but the previous layer has {width} units.", nameof(layers));
            }

            _weightOffsets[i] = checked((int)offset);
            offset += (long)layer.Units * layer.Inputs + layer.Units;
            width = layer.Units;
        }

        ParameterCount = checked((int)offset);
        OutputSize = width;
    }

    /// <summary>The network class's name.</summary>
    public string Name { get; }

    public Loss Loss { get; }

    /// <summary>The name of the <c>[Input]</c> property.</summary>
    public string InputName { get; }

    public int InputSize { get; }

    public int OutputSize { get; }

    public int ParameterCount { get; }

    public ImmutableArray<DenseLayerArchitecture> Layers { get; }

    /// <summary>The widest layer, input included: the size of per-sample scratch vectors.</summary>
    public int MaxWidth => Math.Max(InputSize, Layers.Max(layer => layer.Units));

    /// <summary>Where layer <paramref name="layer"/>'s weights start in the flat parameter vector.</summary>
    public int WeightOffset(int layer) => _weightOffsets[layer];

    /// <summary>Where layer <paramref name="layer"/>'s bias starts in the flat parameter vector.</summary>
    public int BiasOffset(int layer) => _weightOffsets[layer] + Layers[layer].WeightCount;
}

/// <summary>One dense layer: y = activation(W x + b), W of shape [<see cref="Units"/>, <see cref="Inputs"/>].</summary>
public sealed record DenseLayerArchitecture(string Name, int Units, int Inputs, Activation Activation, LayerMask Mask)
{
    public int WeightCount => Units * Inputs;

    public int ParameterCount => WeightCount + Units;
}
