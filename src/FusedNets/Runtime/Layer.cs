namespace FusedNets;

/// <summary>
/// One declared layer of a network, as its partial property returns it: its kind, shape, activation, and live views
/// of its parameters. For a dense layer, <see cref="Weights"/> is W row-major [<see cref="Units"/>, <see cref="Inputs"/>];
/// for a convolution, W [filters, channels, kernel, kernel]; <see cref="Bias"/> is b. Writes take effect at the next
/// Predict or training step (masked weights are forced back to zero then). The input layer and pooling layers have no
/// parameters.
/// </summary>
public sealed class Layer
{
    private readonly Network _network;
    private readonly int _index;
    private readonly int _parameterOffset;
    private readonly int _weightCount;
    private readonly int _biasCount;

    // index: the layer's index in the architecture, -1 for the input.
    internal Layer(Network network, string name, (int Channels, int Height, int Width) shape, LayerArchitecture? architecture, int index, int parameterOffset)
    {
        _network = network;
        _index = index;
        Name = name;
        Shape = shape;
        Architecture = architecture;
        _parameterOffset = parameterOffset;
        _weightCount = architecture?.WeightCount ?? 0;
        _biasCount = (architecture?.ParameterCount ?? 0) - _weightCount;
    }

    /// <summary>The property's name.</summary>
    public string Name { get; }

    /// <summary>The layer's kind as declared: <c>Input</c>, <c>Dense</c>, <c>Conv2D</c>, <c>MaxPool2D</c> or <c>AvgPool2D</c>.</summary>
    public string Kind => Architecture?.Kind ?? "Input";

    /// <summary>The shape of the layer's output (for the input layer, of the input): a dense layer is (units, 1, 1).</summary>
    public (int Channels, int Height, int Width) Shape { get; }

    /// <summary>The layer's output values: the size of <see cref="Shape"/>.</summary>
    public int Units => Shapes.Size(Shape);

    /// <summary>The values the layer reads; 0 for the input layer.</summary>
    public int Inputs => Architecture?.Inputs ?? 0;

    public Activation Activation => Architecture?.Activation ?? Activation.Identity;

    /// <summary>Which weights are fixed at zero: the declared mask, or after <see cref="Prune"/> the pruned one.</summary>
    public LayerMask Mask => Architecture is null ? LayerMask.None : _network.MaskOf(_index);

    /// <summary>The layer as the architecture describes it; null for the input layer.</summary>
    public LayerArchitecture? Architecture { get; }

    /// <summary>True for the <c>[Input]</c> layer.</summary>
    public bool IsInput => Architecture is null;

    /// <summary>W, in its PyTorch layout; empty for a layer without weights.</summary>
    public Span<float> Weights => _weightCount == 0 ? Span<float>.Empty : _network.EditParameters(_parameterOffset, _weightCount);

    /// <summary>b, one per output channel or unit; empty for a layer without a bias.</summary>
    public Span<float> Bias => _biasCount == 0 ? Span<float>.Empty : _network.EditParameters(_parameterOffset + _weightCount, _biasCount);

    /// <summary>
    /// Keeps the round(<paramref name="keepFraction"/> × n) weights of largest magnitude among this layer's n weights
    /// (halves rounded to even; on equal magnitudes the lower index is kept), zeroes the rest and fixes them at zero for
    /// all later training, as a declared mask does; their momentum is zeroed too. Weights already fixed at zero (by a
    /// declared mask or an earlier pruning) stay fixed, so a layer that already keeps fewer is left as it is.
    /// The sparse kernels take over once few enough weights are kept; masks made by pruning are saved in model files.
    /// </summary>
    /// <param name="keepFraction">The fraction of the layer's weights to keep, in [0, 1].</param>
    /// <exception cref="InvalidOperationException">The layer has no weights (the input, a pooling layer).</exception>
    public void Prune(float keepFraction)
    {
        if (Architecture?.Weight is null)
        {
            throw new InvalidOperationException($"Layer '{Name}' has no weights to prune.");
        }

        _network.PruneLayer(_index, keepFraction);
    }

    public override string ToString() => Architecture?.ToString() ?? $"{Name}: Input{Shapes.Text(Shape)}";
}
