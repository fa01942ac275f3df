namespace FusedNets;

/// <summary>
/// One declared layer of a network, as its partial property returns it. For a dense layer,
/// <see cref="Weights"/> is W row-major [<see cref="Units"/>, <see cref="Inputs"/>] and <see cref="Bias"/> is b;
/// both are live views of the network's parameters: writes take effect at the next Predict or training
/// step (masked weights are forced back to zero then). The input layer has no parameters.
/// </summary>
public sealed class Layer
{
    private readonly Network _network;
    private readonly int _weightOffset;

    internal Layer(Network network, string name, int units, int inputs, Activation activation, LayerMask mask, int weightOffset)
    {
        _network = network;
        Name = name;
        Units = units;
        Inputs = inputs;
        Activation = activation;
        Mask = mask;
        _weightOffset = weightOffset;
    }

    /// <summary>The property's name.</summary>
    public string Name { get; }

    /// <summary>The layer's output width.</summary>
    public int Units { get; }

    /// <summary>The layer's input width; 0 for the input layer.</summary>
    public int Inputs { get; }

    public Activation Activation { get; }

    public LayerMask Mask { get; }

    /// <summary>True for the <c>[Input]</c> layer.</summary>
    public bool IsInput => Inputs == 0;

    /// <summary>W, row-major [Units, Inputs]; empty for the input layer.</summary>
    public Span<float> Weights => IsInput ? Span<float>.Empty : _network.EditParameters(_weightOffset, Units * Inputs);

    /// <summary>b, of length Units; empty for the input layer.</summary>
    public Span<float> Bias => IsInput ? Span<float>.Empty : _network.EditParameters(_weightOffset + Units * Inputs, Units);

    public override string ToString() => IsInput ? $"{Name}: Input({Units})" : $"{Name}: Dense({Units}, {Activation}) over {Inputs}";
}
