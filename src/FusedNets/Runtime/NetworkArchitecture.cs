using System.Collections.Immutable;

namespace FusedNets;

/// <summary>
/// The shape of a declared network, as the generator checked it: the input, the layers in order, and the loss.
/// Parameters are laid out in one flat vector: for each layer, each of its <see cref="LayerArchitecture.Parameters"/>
/// in order (weight, then bias), each in PyTorch's layout (a dense W row-major [units, inputs], a convolution's
/// [filters, channels, kernel, kernel]).
/// </summary>
public sealed class NetworkArchitecture
{
    private readonly int[] _parameterOffsets;

    /// <summary>A network over a vector input of <paramref name="inputSize"/> features.</summary>
    public NetworkArchitecture(string name, Loss loss, string inputName, int inputSize, ImmutableArray<LayerArchitecture> layers)
        : this(name, loss, inputName, Shapes.Vector(inputSize), layers)
    {
    }

    /// <summary>A network over an input of <paramref name="inputShape"/> (channels, height, width), stored channel-major.</summary>
    public NetworkArchitecture(string name, Loss loss, string inputName, (int Channels, int Height, int Width) inputShape, ImmutableArray<LayerArchitecture> layers)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Shapes.Check(inputShape, nameof(inputShape));
        if (layers.IsDefaultOrEmpty)
        {
            throw new ArgumentException("A network needs at least one layer after its input.", nameof(layers));
        }

        Name = name;
        Loss = loss;
        InputName = inputName;
        InputShape = inputShape;
        InputSize = Shapes.Size(inputShape);
        Layers = layers;

        _parameterOffsets = new int[layers.Length + 1];
        (int Channels, int Height, int Width) shape = inputShape;
        string previous = inputName;
        for (int l = 0; l < layers.Length; l++)
        {
            LayerArchitecture layer = layers[l];
            if (!layer.Accepts(shape))
            {
                throw new ArgumentException(
                    $"Layer '{layer.Name}' reads {Shapes.Text(layer.InputShape)}, but '{previous}' before it gives {Shapes.Text(shape)}.", nameof(layers));
            }

            _parameterOffsets[l + 1] = checked(_parameterOffsets[l] + layer.ParameterCount);
            shape = layer.OutputShape;
            previous = layer.Name;
        }

        ParameterCount = _parameterOffsets[^1];
        OutputSize = Shapes.Size(shape);
        Target = Losses.TargetOf(loss);
    }

    /// <summary>The network class's name.</summary>
    public string Name { get; }

    public Loss Loss { get; }

    /// <summary>What the loss compares the outputs with: class labels or float targets.</summary>
    public LossTarget Target { get; }

    /// <summary>True when the loss takes class labels (a classifier); false when it takes float targets (a regressor).</summary>
    public bool IsClassifier => Target == LossTarget.ClassLabels;

    /// <summary>The name of the <c>[Input]</c> property.</summary>
    public string InputName { get; }

    /// <summary>The input's (channels, height, width); a vector of n features is (n, 1, 1).</summary>
    public (int Channels, int Height, int Width) InputShape { get; }

    /// <summary>Floats per input sample: the size of <see cref="InputShape"/>.</summary>
    public int InputSize { get; }

    /// <summary>
    /// Whether the network standardizes its input before the first layer (<c>[Input(..., Standardize = true)]</c>): each of
    /// the <see cref="InputShape"/>'s channels (a vector's features) by its own mean and standard deviation.
    /// </summary>
    public bool StandardizesInput { get; init; }

    public int OutputSize { get; }

    public int ParameterCount { get; }

    public ImmutableArray<LayerArchitecture> Layers { get; }

    /// <summary>
    /// How many networks' outputs the output holds side by side: the loss is taken over each group of
    /// OutputSize / LossGroups outputs against the same label (or that group's copy of the targets), and summed.
    /// 1 for every declared network; more for an ensemble run as one network (<see cref="EnsembleArchitecture"/>).
    /// </summary>
    internal int LossGroups { get; init; } = 1;

    /// <summary>The largest number of values any layer reads or writes, input included: the size of per-sample scratch vectors.</summary>
    public int MaxWidth => Math.Max(InputSize, Layers.Max(layer => layer.Units));

    /// <summary>Where layer <paramref name="layer"/>'s parameters start in the flat parameter vector.</summary>
    public int ParameterOffset(int layer) => _parameterOffsets[layer];

    /// <summary>Where layer <paramref name="layer"/>'s weights start in the flat parameter vector.</summary>
    /// <exception cref="InvalidOperationException">The layer has no weights (a pooling layer).</exception>
    public int WeightOffset(int layer) => Layers[layer].Weight is not null
        ? _parameterOffsets[layer]
        : throw new InvalidOperationException($"Layer '{Layers[layer].Name}' has no weights.");

    /// <summary>Where layer <paramref name="layer"/>'s bias starts in the flat parameter vector.</summary>
    /// <exception cref="InvalidOperationException">The layer has no bias (a pooling layer).</exception>
    public int BiasOffset(int layer) => Layers[layer].Parameters.Length == 2
        ? _parameterOffsets[layer] + Layers[layer].WeightCount
        : throw new InvalidOperationException($"Layer '{Layers[layer].Name}' has no bias.");
}
