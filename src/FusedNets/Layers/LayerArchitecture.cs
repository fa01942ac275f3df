using System.Collections.Immutable;

namespace FusedNets;

/// <summary>
/// One layer of a network as the generator checked it: what it takes in and gives out, its activation, and the
/// parameter tensors it owns. Each kind (<see cref="DenseLayerArchitecture"/>, <c>Conv2DLayerArchitecture</c>,
/// the pooling layers) lives in its own folder under <c>src/FusedNets/Layers</c> with everything that makes it run:
/// its attribute, its double-precision reference, its CPU kernels and its ONNX nodes.
/// </summary>
/// <remarks>
/// Shapes are (channels, height, width), channel-major like PyTorch's NCHW without the batch; a vector of n values
/// is (n, 1, 1). Every layer computes y = activation(z), where z is its kind's map of x; the engines store z and y
/// for the backward and apply the activation's derivative in one place for every kind.
/// </remarks>
public abstract record LayerArchitecture
{
    private protected LayerArchitecture(string name, (int Channels, int Height, int Width) inputShape, (int Channels, int Height, int Width) outputShape, Activation activation, LayerMask mask)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(mask);
        Shapes.Check(inputShape, nameof(inputShape));
        Shapes.Check(outputShape, nameof(outputShape));
        Name = name;
        InputShape = inputShape;
        OutputShape = outputShape;
        Activation = activation;
        Mask = mask;
    }

    /// <summary>The layer property's name.</summary>
    public string Name { get; }

    /// <summary>The kind's name as declared: <c>Dense</c>, <c>Conv2D</c>, <c>MaxPool2D</c>, <c>AvgPool2D</c>.</summary>
    public abstract string Kind { get; }

    /// <summary>The shape this layer reads; a dense layer reads any shape of <see cref="Inputs"/> values, flattened in (C, H, W) order.</summary>
    public (int Channels, int Height, int Width) InputShape { get; }

    /// <summary>The shape this layer writes.</summary>
    public (int Channels, int Height, int Width) OutputShape { get; }

    /// <summary>Values in: the size of <see cref="InputShape"/>.</summary>
    public int Inputs => Shapes.Size(InputShape);

    /// <summary>Values out: the size of <see cref="OutputShape"/> (a dense layer's units).</summary>
    public int Units => Shapes.Size(OutputShape);

    /// <summary>Applied to every value the layer's map produces.</summary>
    public Activation Activation { get; }

    /// <summary>Which entries of the weight tensor are fixed to zero (<see cref="LayerMask.None"/> for a layer without weights).</summary>
    public LayerMask Mask { get; }

    /// <summary>The parameter tensors, in the order they lie in the flat parameter vector (weight, then bias).</summary>
    public abstract ImmutableArray<ParameterTensor> Parameters { get; }

    /// <summary>Every parameter of this layer.</summary>
    public int ParameterCount => Parameters.Sum(tensor => tensor.Size);

    /// <summary>The weight tensor (the one masks, pruning and weight decay apply to), or null for a layer without parameters.</summary>
    public ParameterTensor? Weight => Parameters.FirstOrDefault(tensor => tensor.Role == ParameterRole.Weight);

    /// <summary>The weight tensor's entries, or 0.</summary>
    public int WeightCount => Weight?.Size ?? 0;

    /// <summary>
    /// The weight tensor viewed as a matrix (rows = its first dimension, the layer's outputs or filters; columns = the
    /// rest): the shape masks are given in (<see cref="LayerMask.Keeps"/> takes (row, column)).
    /// </summary>
    public (int Rows, int Columns) WeightMatrix => Weight is { } weight ? (weight.Shape[0], weight.Size / weight.Shape[0]) : (0, 0);

    /// <summary>Multiply-adds of one sample's forward through the layer's map, counting every weight (masked ones too).</summary>
    public abstract long ForwardMultiplyAdds { get; }

    /// <summary>
    /// The fan-in and fan-out PyTorch's initializers use for the weight tensor: inputs per output and outputs per
    /// input, a convolution's counting its kernel's positions.
    /// </summary>
    internal abstract (int In, int Out) Fans { get; }

    /// <summary>Whether this layer can follow a layer whose output has <paramref name="shape"/>.</summary>
    internal virtual bool Accepts((int Channels, int Height, int Width) shape) => shape == InputShape;

    // ---- The kind's double-precision reference (FusedNets.Reference): z = map(x) and its backward. ----

    /// <summary>z = map(x) for <paramref name="batch"/> samples. x: (B, Inputs), z: (B, Units); <paramref name="parameters"/> is this layer's slice.</summary>
    internal abstract void ReferenceForward(ReadOnlySpan<double> parameters, ReadOnlySpan<double> x, Span<double> z, int batch);

    /// <summary>
    /// From dz = dL/dz (B, Units): accumulates dL/dparameters into <paramref name="dparameters"/> (this layer's slice,
    /// masks not yet applied) and writes dL/dx (B, Inputs). x and z are what the forward read and wrote.
    /// </summary>
    internal abstract void ReferenceBackward(ReadOnlySpan<double> parameters, ReadOnlySpan<double> x, ReadOnlySpan<double> z, ReadOnlySpan<double> dz, Span<double> dparameters, Span<double> dx, int batch);

    /// <summary>
    /// Interval bound propagation (docs/research.md): the bounds of z = map(x) over the boxes [<paramref name="lower"/>,
    /// <paramref name="upper"/>] (B, Inputs) into <paramref name="zLower"/> and <paramref name="zUpper"/> (B, Units), in
    /// double precision and without margins: the definition the engines' interval kernels are tested against.
    /// </summary>
    internal abstract void ReferenceIntervalForward(ReadOnlySpan<double> parameters, ReadOnlySpan<double> lower, ReadOnlySpan<double> upper, Span<double> zLower, Span<double> zUpper, int batch);

    /// <summary>
    /// The gradient of <see cref="ReferenceIntervalForward"/>: from dL/dzLower and dL/dzUpper (B, Units) accumulates
    /// dL/dparameters (masks not yet applied) and writes dL/dlower and dL/dupper (B, Inputs).
    /// </summary>
    internal abstract void ReferenceIntervalBackward(
        ReadOnlySpan<double> parameters, ReadOnlySpan<double> lower, ReadOnlySpan<double> upper, ReadOnlySpan<double> dzLower, ReadOnlySpan<double> dzUpper,
        Span<double> dparameters, Span<double> dLower, Span<double> dUpper, int batch);

    // ---- The kind's CPU kernels (FusedNets.Backends.Cpu) ----

    /// <summary>This layer on the CPU engine at one vector width; <paramref name="mask"/> is its weight mask (see <see cref="LayerMask.ArrayOf"/>).</summary>
    internal abstract Backends.Cpu.CpuLayer<TVector, TOps> CreateCpuLayer<TVector, TOps>(int index, float[]? mask)
        where TVector : unmanaged
        where TOps : Generated.IVectorOps<TVector>;

    // ---- Export ----

    /// <summary>
    /// What model files record of this layer and compare on loading, each as (key, value, how a message states it):
    /// the message reads "layer 'Name' {Subject} {value}{Unit}", as in "layer 'Hidden' has 11 units".
    /// </summary>
    internal virtual IEnumerable<FileProperty> FileProperties()
    {
        yield return KindProperty;
        if (Activation != Activation.Identity || Weight is not null)
        {
            yield return new FileProperty("activation", Activation.ToString(), "has activation", "");
        }

        if (Weight is not null)
        {
            yield return new FileProperty("mask", Mask.Description, "has mask", "");
        }
    }

    /// <summary>The kind, which model files record first for every layer.</summary>
    private protected FileProperty KindProperty => new("kind", Kind, "is of kind", "");

    /// <summary>Adds the ONNX nodes of z = map(x) (not the activation) reading <paramref name="x"/> and writing <paramref name="z"/>.</summary>
    internal abstract void AddOnnxNodes(Onnx.OnnxGraph graph, string x, string z, ReadOnlySpan<float> parameters);

    /// <summary>A description for messages, such as <c>Conv1: Conv2D(6, 5, Relu, padding 2) (1, 28, 28) → (6, 28, 28)</c>.</summary>
    public sealed override string ToString() => $"{Name}: {Kind}{Describe()} {Shapes.Text(InputShape)} → {Shapes.Text(OutputShape)}";

    /// <summary>The kind's arguments in parentheses, for <see cref="ToString"/>.</summary>
    private protected abstract string Describe();
}

/// <summary>One property of a layer as model files record it (see <see cref="LayerArchitecture.FileProperties"/>).</summary>
internal readonly record struct FileProperty(string Key, string Value, string Subject, string Unit);

/// <summary>What a parameter tensor is for: masks, pruning and weight decay apply to weights, not biases.</summary>
public enum ParameterRole
{
    Weight,
    Bias,
}

/// <summary>One parameter tensor of a layer, in PyTorch's layout: its name in model files is <c>Layer.Name</c>.</summary>
/// <param name="Name">The suffix after the layer's name: <c>weight</c> or <c>bias</c>.</param>
/// <param name="Shape">Its dimensions, outermost first, as PyTorch lays the same tensor out.</param>
/// <param name="Role">Weight or bias.</param>
public sealed record ParameterTensor(string Name, ImmutableArray<int> Shape, ParameterRole Role)
{
    /// <summary>The product of the dimensions.</summary>
    public int Size => Shape.Aggregate(1, (product, dimension) => product * dimension);

    public bool Equals(ParameterTensor? other) =>
        other is not null && Name == other.Name && Role == other.Role && Shape.SequenceEqual(other.Shape);

    public override int GetHashCode() => HashCode.Combine(Name, Role, Shape.Length == 0 ? 0 : Shape[0], Size);
}

/// <summary>Helpers for (channels, height, width) shapes.</summary>
internal static class Shapes
{
    public static int Size((int Channels, int Height, int Width) shape) => checked(shape.Channels * shape.Height * shape.Width);

    public static (int Channels, int Height, int Width) Vector(int size) => (size, 1, 1);

    public static bool IsVector((int Channels, int Height, int Width) shape) => shape.Height == 1 && shape.Width == 1;

    /// <summary>"(16, 5, 5)", or "(400)" for a vector.</summary>
    public static string Text((int Channels, int Height, int Width) shape) =>
        IsVector(shape) ? $"({shape.Channels})" : $"({shape.Channels}, {shape.Height}, {shape.Width})";

    public static void Check((int Channels, int Height, int Width) shape, string parameter)
    {
        if (shape.Channels <= 0 || shape.Height <= 0 || shape.Width <= 0)
        {
            throw new ArgumentOutOfRangeException(parameter, shape, "Every dimension of a shape must be at least 1.");
        }

        _ = Size(shape);
    }
}
