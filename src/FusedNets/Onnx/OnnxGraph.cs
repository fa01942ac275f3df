using System.Buffers.Binary;
using FusedNets.Onnx.Proto;
using Google.Protobuf;

namespace FusedNets.Onnx;

/// <summary>
/// The ONNX graph being built, with the shape of every value it has so far (batch dimension first), so that a
/// layer can ask what it is reading: a dense layer after a convolution flattens first.
/// </summary>
internal sealed class OnnxGraph(GraphProto graph)
{
    private readonly Dictionary<string, long[]> _shapes = [];

    public GraphProto Proto { get; } = graph;

    /// <summary>The dimensions of <paramref name="value"/> after the batch: [C, H, W] or [n].</summary>
    public long[] Shape(string value) => _shapes[value];

    /// <summary>Records that <paramref name="value"/> has <paramref name="shape"/> (after the batch dimension).</summary>
    public void SetShape(string value, params long[] shape) => _shapes[value] = shape;

    /// <summary>Adds a node writing <paramref name="output"/>, whose shape after the batch is <paramref name="shape"/>.</summary>
    public void Node(string op, string name, string[] inputs, string output, long[] shape, params AttributeProto[] attributes)
    {
        Proto.Node.Add(new NodeProto { OpType = op, Name = name, Input = { inputs }, Output = { output }, Attribute = { attributes } });
        SetShape(output, shape);
    }

    /// <summary>A node whose output has the shape of its first input: activations and other elementwise nodes.</summary>
    public void Elementwise(string op, string name, string[] inputs, string output, params AttributeProto[] attributes) =>
        Node(op, name, inputs, output, Shape(inputs[0]), attributes);

    /// <summary>A float tensor of constants, such as a layer's weights.</summary>
    public string Initializer(string name, long[] dims, ReadOnlySpan<float> values)
    {
        var bytes = new byte[values.Length * sizeof(float)];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), values[i]);
        }

        Proto.Initializer.Add(new TensorProto { Name = name, Dims = { dims }, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(bytes) });
        return name;
    }

    /// <summary>A float scalar initializer, added once however many layers use it.</summary>
    public string Constant(string name, float value)
    {
        if (!Proto.Initializer.Any(tensor => tensor.Name == name))
        {
            Initializer(name, [], [value]);
        }

        return name;
    }

    /// <summary><paramref name="value"/> as [batch, n]: itself when it already is, else a Flatten(axis 1) of it, as torch.flatten(x, 1).</summary>
    public string Flattened(string value, string name)
    {
        long[] shape = Shape(value);
        if (shape.Length == 1)
        {
            return value;
        }

        string flat = name + ".flatten";
        Node("Flatten", flat, [value], flat, [shape.Aggregate(1L, (product, dimension) => product * dimension)], Int("axis", 1));
        return flat;
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Ints(string name, params long[] values) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Ints, Ints = { values } };

    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    /// <summary>A float tensor of shape [batch, dimensions...], the batch size left to run time.</summary>
    public static ValueInfoProto FloatTensor(string name, string batchDimension, long[] dimensions)
    {
        var shape = new TensorShapeProto { Dim = { new TensorShapeProto.Types.Dimension { DimParam = batchDimension } } };
        foreach (long dimension in dimensions)
        {
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = dimension });
        }

        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }
}
