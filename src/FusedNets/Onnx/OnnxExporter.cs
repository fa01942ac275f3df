using System.Buffers.Binary;
using FusedNets.Onnx.Proto;
using Google.Protobuf;

namespace FusedNets.Onnx;

/// <summary>
/// Builds the ONNX model of a network: input "input" [batch, InputSize], then per layer a Gemm
/// (z = x Wᵀ + b, with W kept [units, inputs] as in the model file) and its activation's nodes, then,
/// when asked, a Softmax; the last node writes "output" [batch, OutputSize].
/// </summary>
internal static class OnnxExporter
{
    // ONNX opset 17 (IR version 8) is read by every ONNX Runtime since 1.13, by PyTorch and by
    // TensorFlow's converters. Its Gemm, Softplus and Softmax are what this graph needs; Gelu arrived in
    // opset 20, so it is written out of elementary nodes.
    public const long IrVersion = 8;
    public const long OpsetVersion = 17;

    public const string InputName = "input", OutputName = "output", BatchDimension = "batch";

    public static ModelProto Build(NetworkArchitecture architecture, ReadOnlySpan<float> parameters, bool includeSoftmax)
    {
        var graph = new GraphProto { Name = architecture.Name };
        graph.Input.Add(FloatMatrix(InputName, architecture.InputSize));
        graph.Output.Add(FloatMatrix(OutputName, architecture.OutputSize));

        string x = InputName;
        for (int l = 0; l < architecture.Layers.Length; l++)
        {
            DenseLayerArchitecture layer = architecture.Layers[l];
            string weight = layer.Name + ".weight", bias = layer.Name + ".bias";
            graph.Initializer.Add(FloatTensor(weight, [layer.Units, layer.Inputs], parameters.Slice(architecture.WeightOffset(l), layer.WeightCount)));
            graph.Initializer.Add(FloatTensor(bias, [layer.Units], parameters.Slice(architecture.BiasOffset(l), layer.Units)));

            bool writesOutput = l == architecture.Layers.Length - 1 && !includeSoftmax;
            string y = writesOutput ? OutputName : layer.Name + ".y";
            string z = layer.Activation == Activation.Identity ? y : layer.Name + ".z";
            graph.Node.Add(Node("Gemm", layer.Name + ".Gemm", [x, weight, bias], z, IntAttribute("transB", 1)));
            AddActivation(graph, layer.Name, layer.Activation, z, y);
            x = y;
        }

        if (includeSoftmax)
        {
            graph.Node.Add(Node("Softmax", "Softmax", [x], OutputName, IntAttribute("axis", -1)));
        }

        return new ModelProto
        {
            IrVersion = IrVersion,
            OpsetImport = { new OperatorSetIdProto { Domain = "", Version = OpsetVersion } },
            ProducerName = "FusedNets",
            ProducerVersion = typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "",
            DocString = $"{architecture.Name}: output is {(includeSoftmax ? "the softmax of the logits" : "the last layer's activations, as Predict returns them")}.",
            Graph = graph,
        };
    }

    /// <summary>The nodes that compute y = activation(z): one entry per activation, none for the identity.</summary>
    private static void AddActivation(GraphProto graph, string layer, Activation activation, string z, string y)
    {
        string name = $"{layer}.{activation}";
        switch (activation)
        {
            case Activation.Identity:
                break;
            case Activation.Relu or Activation.Tanh or Activation.Sigmoid or Activation.Softplus:
                graph.Node.Add(Node(activation.ToString(), name, [z], y));
                break;
            case Activation.LeakyRelu:
                graph.Node.Add(Node("LeakyRelu", name, [z], y, FloatAttribute("alpha", Activations.LeakyReluSlope)));
                break;
            case Activation.Gelu:
                AddGelu(graph, name, z, y);
                break;
            default:
                throw new NotSupportedException($"Activation {activation} has no ONNX form.");
        }
    }

    /// <summary>GELU's tanh approximation, y = 0.5 z (1 + tanh(√(2/π) (z + 0.044715 z³))), as in <see cref="Activations.Gelu"/>.</summary>
    private static void AddGelu(GraphProto graph, string name, string z, string y)
    {
        string half = Constant(graph, "gelu.half", 0.5f);
        string one = Constant(graph, "gelu.one", 1f);
        string cubic = Constant(graph, "gelu.cubic", 0.044715f);
        string scale = Constant(graph, "gelu.scale", (float)Math.Sqrt(2 / Math.PI));

        // Each node is named after the value it writes.
        string Value(string part) => $"{name}.{part}";
        void Add(string op, string[] inputs, string output) => graph.Node.Add(Node(op, output, inputs, output));

        Add("Mul", [z, z], Value("z2"));
        Add("Mul", [Value("z2"), z], Value("z3"));
        Add("Mul", [Value("z3"), cubic], Value("cubic_term"));
        Add("Add", [z, Value("cubic_term")], Value("inner"));
        Add("Mul", [Value("inner"), scale], Value("scaled"));
        Add("Tanh", [Value("scaled")], Value("tanh"));
        Add("Add", [Value("tanh"), one], Value("one_plus_tanh"));
        Add("Mul", [z, half], Value("half_z"));
        Add("Mul", [Value("half_z"), Value("one_plus_tanh")], y);
    }

    /// <summary>A float scalar initializer, added once however many layers use it.</summary>
    private static string Constant(GraphProto graph, string name, float value)
    {
        if (!graph.Initializer.Any(tensor => tensor.Name == name))
        {
            graph.Initializer.Add(FloatTensor(name, [], [value]));
        }

        return name;
    }

    private static NodeProto Node(string op, string name, string[] inputs, string output, params AttributeProto[] attributes) =>
        new() { OpType = op, Name = name, Input = { inputs }, Output = { output }, Attribute = { attributes } };

    private static AttributeProto IntAttribute(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    private static AttributeProto FloatAttribute(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    private static TensorProto FloatTensor(string name, long[] dims, ReadOnlySpan<float> values)
    {
        var bytes = new byte[values.Length * sizeof(float)];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), values[i]);
        }

        return new TensorProto { Name = name, Dims = { dims }, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(bytes) };
    }

    /// <summary>A float tensor of shape [batch, columns], the batch size left to run time.</summary>
    private static ValueInfoProto FloatMatrix(string name, int columns) => new()
    {
        Name = name,
        Type = new TypeProto
        {
            TensorType = new TypeProto.Types.Tensor
            {
                ElemType = (int)TensorProto.Types.DataType.Float,
                Shape = new TensorShapeProto
                {
                    Dim =
                    {
                        new TensorShapeProto.Types.Dimension { DimParam = BatchDimension },
                        new TensorShapeProto.Types.Dimension { DimValue = columns },
                    },
                },
            },
        },
    };
}
