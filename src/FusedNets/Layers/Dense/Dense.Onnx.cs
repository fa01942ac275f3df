using FusedNets.Onnx;

namespace FusedNets;

// The dense layer in an ONNX graph: Gemm(x, W, b) with transB, W kept [units, inputs] as in the model file.
public sealed partial record DenseLayerArchitecture
{
    internal override void AddOnnxNodes(OnnxGraph graph, string x, string z, ReadOnlySpan<float> parameters)
    {
        string weight = graph.Initializer(Name + ".weight", [Units, Inputs], parameters[..WeightCount]);
        string bias = graph.Initializer(Name + ".bias", [Units], parameters.Slice(WeightCount, Units));
        graph.Node("Gemm", Name + ".Gemm", [graph.Flattened(x, Name), weight, bias], z, [Units], OnnxGraph.Int("transB", 1));
    }
}
