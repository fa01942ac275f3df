using FusedNets.Onnx.Proto;

namespace FusedNets.Onnx;

/// <summary>
/// Builds the ONNX model of a network: input "input" ([batch, InputSize] for a vector input, [batch, C, H, W] for
/// an image), then per layer its kind's nodes for z = map(x) (a dense layer's Gemm keeps W [units, inputs] as in the
/// model file) and its activation's nodes, then, when asked, a Softmax; the last node writes "output"
/// [batch, OutputSize].
/// </summary>
internal static class OnnxExporter
{
    // ONNX opset 17 (IR version 8) is read by every ONNX Runtime since 1.13, by PyTorch and by
    // TensorFlow's converters. Its Gemm, Conv, pooling, Softplus and Softmax are what this graph needs; Gelu
    // arrived in opset 20, so it is written out of elementary nodes.
    public const long IrVersion = 8;
    public const long OpsetVersion = 17;

    public const string InputName = "input", OutputName = "output", BatchDimension = "batch";

    public static ModelProto Build(NetworkArchitecture architecture, ReadOnlySpan<float> parameters, bool includeSoftmax)
    {
        var graph = new OnnxGraph(new GraphProto { Name = architecture.Name });
        long[] inputShape = Shapes.IsVector(architecture.InputShape)
            ? [architecture.InputSize]
            : [architecture.InputShape.Channels, architecture.InputShape.Height, architecture.InputShape.Width];
        graph.Proto.Input.Add(OnnxGraph.FloatTensor(InputName, BatchDimension, inputShape));
        graph.SetShape(InputName, inputShape);

        string x = InputName;
        for (int l = 0; l < architecture.Layers.Length; l++)
        {
            LayerArchitecture layer = architecture.Layers[l];
            bool writesOutput = l == architecture.Layers.Length - 1 && !includeSoftmax;
            string y = writesOutput ? OutputName : layer.Name + ".y";
            string z = layer.Activation == Activation.Identity ? y : layer.Name + ".z";
            layer.AddOnnxNodes(graph, x, z, parameters.Slice(architecture.ParameterOffset(l), layer.ParameterCount));
            Activations.Rule(layer.Activation).AddOnnxNodes(graph, $"{layer.Name}.{layer.Activation}", z, y);
            x = y;
        }

        if (includeSoftmax)
        {
            graph.Elementwise("Softmax", "Softmax", [x], OutputName, OnnxGraph.Int("axis", -1));
        }

        graph.Proto.Output.Add(OnnxGraph.FloatTensor(OutputName, BatchDimension, graph.Shape(OutputName)));
        return new ModelProto
        {
            IrVersion = IrVersion,
            OpsetImport = { new OperatorSetIdProto { Domain = "", Version = OpsetVersion } },
            ProducerName = "FusedNets",
            ProducerVersion = typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "",
            DocString = $"{architecture.Name}: output is {(includeSoftmax ? "the softmax of the logits" : "the last layer's activations, as Predict returns them")}.",
            Graph = graph.Proto,
        };
    }
}
