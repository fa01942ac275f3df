using FusedNets.Onnx;

namespace FusedNets;

// The convolution in an ONNX graph: one Conv node, weights [F, C, K, K] as in the model file.
public sealed partial record Conv2DLayerArchitecture
{
    internal override void AddOnnxNodes(OnnxGraph graph, string x, string z, ReadOnlySpan<float> parameters)
    {
        string weight = graph.Initializer(Name + ".weight", [Filters, InputShape.Channels, Kernel, Kernel], parameters[..WeightCount]);
        string bias = graph.Initializer(Name + ".bias", [Filters], parameters.Slice(WeightCount, Filters));
        graph.Node(
            "Conv",
            Name + ".Conv",
            [x, weight, bias],
            z,
            [OutputShape.Channels, OutputShape.Height, OutputShape.Width],
            OnnxGraph.Ints("kernel_shape", Kernel, Kernel),
            OnnxGraph.Ints("strides", Stride, Stride),
            OnnxGraph.Ints("pads", Padding, Padding, Padding, Padding));
    }
}
