using FusedNets.Onnx.Proto;
using FusedNets.Tests.Networks;
using Microsoft.ML.OnnxRuntime;

namespace FusedNets.Tests.Onnx;

/// <summary>
/// The exported ONNX model, run by ONNX Runtime, computes what <see cref="Network.Predict"/> computes, for
/// every activation (Gelu written out of elementary nodes), both losses, masked layers, and convolutional networks
/// (Conv, MaxPool, AveragePool, and a Flatten before the first Gemm) over [batch, C, H, W] images.
/// </summary>
public class OnnxExportTests
{
    private const double Tolerance = 1e-5;

    public static TheoryData<string> EveryTestNetwork() => [.. TestNetworkCatalog.Names];

    [Theory]
    [MemberData(nameof(EveryTestNetwork))]
    public void OnnxRuntime_computes_what_Predict_computes(string network)
    {
        using Network net = RealisticNetwork(network);
        using var session = new InferenceSession(Export(net));

        foreach (int batch in new[] { 1, 17 })
        {
            float[] inputs = RandomInputs(batch * net.Architecture.InputSize, seed: batch);
            var expected = new float[batch * net.Architecture.OutputSize];
            net.Predict(inputs, expected);

            AssertClose(expected, Run(session, inputs, batch, net.Architecture));
        }
    }

    [Fact]
    public void With_includeSoftmax_a_classifier_outputs_the_softmax_of_its_logits()
    {
        using Network net = RealisticNetwork(nameof(MnistMlp));
        using var session = new InferenceSession(Export(net, includeSoftmax: true));
        const int Batch = 4, Classes = 10;
        float[] inputs = RandomInputs(Batch * 784, seed: 2);
        var logits = new float[Batch * Classes];
        net.Predict(inputs, logits);

        float[] probabilities = Run(session, inputs, Batch, net.Architecture);

        for (int row = 0; row < Batch; row++)
        {
            double[] exponentials = [.. logits.Skip(row * Classes).Take(Classes).Select(logit => Math.Exp(logit))];
            float[] expected = [.. exponentials.Select(e => (float)(e / exponentials.Sum()))];
            AssertClose(expected, probabilities[(row * Classes)..((row + 1) * Classes)]);
        }
    }

    [Fact]
    public void A_regressor_refuses_includeSoftmax()
    {
        using var net = new TinyRegressor(seed: 0, Backend.IlgpuCpu);

        var error = Assert.Throws<ArgumentException>(() => net.ExportOnnx(new MemoryStream(), includeSoftmax: true));

        Assert.Equal("includeSoftmax", error.ParamName);
    }

    [Fact]
    public void The_model_declares_opset_17_and_a_batch_dimension_named_batch()
    {
        using var net = new TinyRegressor(seed: 0, Backend.IlgpuCpu);

        ModelProto model = ModelProto.Parser.ParseFrom(Export(net));

        Assert.Equal(8, model.IrVersion);
        Assert.Equal(17, model.OpsetImport.Single(opset => opset.Domain.Length == 0).Version);
        ValueInfoProto input = Assert.Single(model.Graph.Input);
        Assert.Equal("input", input.Name);
        Assert.Equal(("batch", 3L), (input.Type.TensorType.Shape.Dim[0].DimParam, input.Type.TensorType.Shape.Dim[1].DimValue));
        Assert.Equal("output", Assert.Single(model.Graph.Output).Name);
        using var session = new InferenceSession(Export(net));
        Assert.Equal([-1, 3], session.InputMetadata["input"].Dimensions);
        Assert.Equal("batch", session.InputMetadata["input"].SymbolicDimensions[0]);
        Assert.Equal([-1, 2], session.OutputMetadata["output"].Dimensions);
    }

    [Fact]
    public void Each_layer_is_a_Gemm_over_its_weight_and_bias_then_its_activation()
    {
        using var net = new TinyRegressor(seed: 0, Backend.IlgpuCpu);

        ModelProto model = ModelProto.Parser.ParseFrom(Export(net));

        // Hidden: Tanh, Linear: Identity (no node), Y: Sigmoid.
        Assert.Equal(["Gemm", "Tanh", "Gemm", "Gemm", "Sigmoid"], model.Graph.Node.Select(node => node.OpType));
        NodeProto gemm = model.Graph.Node[0];
        Assert.Equal(["input", "Hidden.weight", "Hidden.bias"], gemm.Input);
        Assert.Equal(1, gemm.Attribute.Single(attribute => attribute.Name == "transB").I);
        TensorProto weight = model.Graph.Initializer.Single(tensor => tensor.Name == "Hidden.weight");
        Assert.Equal([11L, 3L], weight.Dims);
        Assert.Equal(BitConverter.GetBytes(net.Hidden.Weights[4]), weight.RawData.Span.Slice(16, 4).ToArray());
    }

    [Fact]
    public void A_convolutional_network_takes_batch_C_H_W_images_and_flattens_before_its_first_Gemm()
    {
        using var net = new LeNet(seed: 0, Backend.Cpu);

        ModelProto model = ModelProto.Parser.ParseFrom(Export(net));

        TensorShapeProto input = Assert.Single(model.Graph.Input).Type.TensorType.Shape;
        Assert.Equal(["batch", "", "", ""], input.Dim.Select(dimension => dimension.DimParam));
        Assert.Equal([0L, 1L, 28L, 28L], input.Dim.Select(dimension => dimension.DimValue));
        Assert.Equal(
            ["Conv", "Relu", "MaxPool", "Conv", "Relu", "AveragePool", "Flatten", "Gemm", "Relu", "Gemm", "Relu", "Gemm"],
            model.Graph.Node.Select(node => node.OpType));
        NodeProto conv1 = model.Graph.Node[0];
        Assert.Equal(["input", "Conv1.weight", "Conv1.bias"], conv1.Input);
        Assert.Equal([5L, 5L], conv1.Attribute.Single(attribute => attribute.Name == "kernel_shape").Ints);
        Assert.Equal([2L, 2L, 2L, 2L], conv1.Attribute.Single(attribute => attribute.Name == "pads").Ints);
        Assert.Equal([16L, 6L, 5L, 5L], model.Graph.Initializer.Single(tensor => tensor.Name == "Conv2.weight").Dims);
        Assert.Equal([120L, 400L], model.Graph.Initializer.Single(tensor => tensor.Name == "Fc1.weight").Dims);
        NodeProto flatten = model.Graph.Node[6];
        Assert.Equal(1, flatten.Attribute.Single(attribute => attribute.Name == "axis").I);
        Assert.Equal(flatten.Output[0], model.Graph.Node[7].Input[0]);
        using var session = new InferenceSession(Export(net));
        Assert.Equal([-1, 1, 28, 28], session.InputMetadata["input"].Dimensions);
        Assert.Equal([-1, 10], session.OutputMetadata["output"].Dimensions);
    }

    [Fact]
    public void ExportOnnx_to_a_path_writes_a_model_OnnxRuntime_loads()
    {
        using Network net = RealisticNetwork(nameof(EveryActivationClassifier));
        string path = Path.Combine(Persistence.ModelFileTests.TemporaryDirectory(), "model.onnx");

        net.ExportOnnx(path);

        using var session = new InferenceSession(path);
        float[] inputs = RandomInputs(5, seed: 9);
        var expected = new float[4];
        net.Predict(inputs, expected);
        AssertClose(expected, Run(session, inputs, 1, net.Architecture));
    }

    /// <summary>The network's own initialization with biases set to random values (training leaves them nonzero).</summary>
    private static Network RealisticNetwork(string name)
    {
        Network net = TestNetworkCatalog.Create(name, Backend.Cpu);
        var random = new Random(17);
        foreach (Layer layer in net.Layers.Skip(1))
        {
            Span<float> bias = layer.Bias;
            for (int i = 0; i < bias.Length; i++)
            {
                bias[i] = (float)(random.NextDouble() - 0.5);
            }
        }

        return net;
    }

    private static byte[] Export(Network net, bool includeSoftmax = false)
    {
        using var stream = new MemoryStream();
        net.ExportOnnx(stream, includeSoftmax);
        return stream.ToArray();
    }

    /// <summary>Runs the model on <paramref name="batch"/> samples, shaped [batch, InputSize] or, for an image, [batch, C, H, W].</summary>
    private static float[] Run(InferenceSession session, float[] inputs, int batch, NetworkArchitecture architecture)
    {
        (int channels, int height, int width) = architecture.InputShape;
        long[] shape = height == 1 && width == 1 ? [batch, channels] : [batch, channels, height, width];
        using var input = OrtValue.CreateTensorValueFromMemory(inputs, shape);
        using var runOptions = new RunOptions();
        using IDisposableReadOnlyCollection<OrtValue> outputs = session.Run(runOptions, ["input"], [input], ["output"]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    private static float[] RandomInputs(int count, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1))];
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs(actual[i] - expected[i]);
            Assert.True(error <= Tolerance + Tolerance * Math.Abs(expected[i]), $"[{i}]: expected {expected[i]:R}, ONNX Runtime gave {actual[i]:R} (error {error:E2})");
        }
    }
}
