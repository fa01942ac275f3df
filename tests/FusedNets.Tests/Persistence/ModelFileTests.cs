using System.Text;
using System.Text.Json;
using FusedNets.Persistence;
using FusedNets.Tests.Networks;
using FusedNets.Tests.Reference;

namespace FusedNets.Tests.Persistence;

// Networks that differ from TinyRegressor in one respect each, to check that loading names the difference.

[Network(Loss = Loss.MeanSquaredError)]
public partial class WideTinyRegressor
{
    [Input(3)] public partial Layer X { get; }
    [Dense(12, Activation.Tanh)] public partial Layer Hidden { get; }
    [Dense(6)] public partial Layer Linear { get; }
    [Dense(2, Activation.Sigmoid)] public partial Layer Y { get; }
}

[Network(Loss = Loss.MeanSquaredError)]
public partial class ReluTinyRegressor
{
    [Input(3)] public partial Layer X { get; }
    [Dense(11, Activation.Relu)] public partial Layer Hidden { get; }
    [Dense(6)] public partial Layer Linear { get; }
    [Dense(2, Activation.Sigmoid)] public partial Layer Y { get; }
}

[Network(Loss = Loss.MeanSquaredError)]
public partial class RenamedTinyRegressor
{
    [Input(3)] public partial Layer X { get; }
    [Dense(11, Activation.Tanh)] public partial Layer Hidden { get; }
    [Dense(6)] public partial Layer Middle { get; }
    [Dense(2, Activation.Sigmoid)] public partial Layer Y { get; }
}

// ConvRegressor with one difference each: a convolution with another number of filters, the pooling kinds swapped.

[Network(Loss = Loss.MeanSquaredError)]
public partial class WiderConvRegressor
{
    [Input(2, 11, 9)] public partial Layer Image { get; }
    [Conv2D(4, 3, Activation.Tanh, Stride = 2, Padding = 1, Density = 0.6, MaskSeed = 3)] public partial Layer Strided { get; }
    [MaxPool2D(2)] public partial Layer Pool1 { get; }
    [Conv2D(2, 2, Activation.Gelu, Padding = 1)] public partial Layer Padded { get; }
    [AvgPool2D(2)] public partial Layer Pool2 { get; }
    [Dense(7, Activation.Sigmoid, Inputs = 4)] public partial Layer Hidden { get; }
    [Dense(3)] public partial Layer Y { get; }
}

[Network(Loss = Loss.MeanSquaredError)]
public partial class SwappedPoolingConvRegressor
{
    [Input(2, 11, 9)] public partial Layer Image { get; }
    [Conv2D(3, 3, Activation.Tanh, Stride = 2, Padding = 1, Density = 0.6, MaskSeed = 3)] public partial Layer Strided { get; }
    [AvgPool2D(2)] public partial Layer Pool1 { get; }
    [Conv2D(2, 2, Activation.Gelu, Padding = 1)] public partial Layer Padded { get; }
    [MaxPool2D(2)] public partial Layer Pool2 { get; }
    [Dense(7, Activation.Sigmoid, Inputs = 4)] public partial Layer Hidden { get; }
    [Dense(3)] public partial Layer Y { get; }
}

/// <summary>
/// Model files: <c>Save</c> writes every parameter under PyTorch's names and layout with the architecture in
/// the metadata; the generated <c>Load</c> restores it bit for bit, refuses a file of another architecture
/// naming the first difference, and reads files written by PyTorch's safetensors.
/// </summary>
public class ModelFileTests
{
    public static TheoryData<string, Backend> EveryNetworkOnEveryCpuBackend()
    {
        var data = new TheoryData<string, Backend>();
        foreach (Backend backend in new[] { Backend.IlgpuCpu, Backend.Cpu })
        {
            foreach (string network in TestNetworkCatalog.Names)
            {
                data.Add(network, backend);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EveryNetworkOnEveryCpuBackend))]
    public void Load_restores_every_parameter_bit_for_bit(string network, Backend backend)
    {
        using Network saved = TestNetworkCatalog.WithRandomParameters(network, Backend.IlgpuCpu);
        byte[] file = SaveToBytes(saved);

        using Network loaded = TestNetworkCatalog.Load(network, new MemoryStream(file), backend);

        Assert.Equal(saved.GetType(), loaded.GetType());
        Assert.Equal(backend, loaded.Backend);
        Assert.Equal(Bits(Parameters(saved)), Bits(Parameters(loaded)));
    }

    [Fact]
    public void A_loaded_network_predicts_what_the_saved_one_did()
    {
        using Network saved = TestNetworkCatalog.WithRandomParameters(nameof(EveryActivationClassifier), Backend.IlgpuCpu);
        string path = Path.Combine(TemporaryDirectory(), "model.safetensors");
        saved.Save(path);

        using var loaded = EveryActivationClassifier.Load(path, Backend.IlgpuCpu);

        TestBatch batch = TestArchitectures.RandomBatch(saved.Architecture, 9, seed: 1);
        Assert.Equal(Predict(saved, batch), Predict(loaded, batch));
    }

    [Fact]
    public void The_file_holds_each_layer_as_pytorch_linear_tensors_and_the_architecture_as_metadata()
    {
        using var net = new MnistMlp(seed: 4, Backend.IlgpuCpu);

        SafeTensorsContents file = SafeTensors.Read(new MemoryStream(SaveToBytes(net)));

        Assert.Equal(
            ["Hidden1.weight", "Hidden1.bias", "Hidden2.weight", "Hidden2.bias", "Logits.weight", "Logits.bias"],
            file.Tensors.Select(tensor => tensor.Name));
        SafeTensor logits = file.Tensors[4];
        Assert.Equal([10, 128], logits.Shape);
        Assert.Equal(net.Logits.Weights[3 * 128 + 7], logits.Values[3 * 128 + 7]);
        Assert.Equal(net.Hidden2.Bias.ToArray(), file.Tensors[3].Values);
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["fusednets.format_version"] = "1",
                ["fusednets.network"] = "MnistMlp",
                ["fusednets.loss"] = "SoftmaxCrossEntropy",
                ["fusednets.input"] = "Pixels",
                ["fusednets.input_size"] = "784",
                ["fusednets.layers"] = "Hidden1,Hidden2,Logits",
                ["fusednets.seed"] = "4",
                ["fusednets.layer.Hidden1.kind"] = "Dense",
                ["fusednets.layer.Hidden1.units"] = "128",
                ["fusednets.layer.Hidden1.inputs"] = "784",
                ["fusednets.layer.Hidden1.activation"] = "Relu",
                ["fusednets.layer.Hidden1.mask"] = "none",
                ["fusednets.layer.Hidden2.kind"] = "Dense",
                ["fusednets.layer.Hidden2.units"] = "128",
                ["fusednets.layer.Hidden2.inputs"] = "128",
                ["fusednets.layer.Hidden2.activation"] = "Relu",
                ["fusednets.layer.Hidden2.mask"] = "none",
                ["fusednets.layer.Logits.kind"] = "Dense",
                ["fusednets.layer.Logits.units"] = "10",
                ["fusednets.layer.Logits.inputs"] = "128",
                ["fusednets.layer.Logits.activation"] = "Identity",
                ["fusednets.layer.Logits.mask"] = "none",
            },
            file.Metadata);
    }

    [Fact]
    public void A_convolutional_network_is_saved_as_pytorch_conv2d_and_linear_tensors_with_its_shapes_in_the_metadata()
    {
        using var net = new LeNet(seed: 4, Backend.Cpu);

        SafeTensorsContents file = SafeTensors.Read(new MemoryStream(SaveToBytes(net)));

        Assert.Equal(
            [
                "Conv1.weight [6, 1, 5, 5]", "Conv1.bias [6]", "Conv2.weight [16, 6, 5, 5]", "Conv2.bias [16]",
                "Fc1.weight [120, 400]", "Fc1.bias [120]", "Fc2.weight [84, 120]", "Fc2.bias [84]", "Logits.weight [10, 84]", "Logits.bias [10]",
            ],
            file.Tensors.Select(tensor => $"{tensor.Name} {tensor.ShapeText}"));
        // W[f, c, i, j] at ((f·C + c)·K + i)·K + j, as nn.Conv2d lays it out.
        Assert.Equal(net.Conv2.Weights[((3 * 6 + 2) * 5 + 1) * 5 + 4], file.Tensors[2].Values[((3 * 6 + 2) * 5 + 1) * 5 + 4]);
        Assert.Equal(net.Conv2.Weights.ToArray(), file.Tensors[2].Values);
        Assert.Equal(net.Conv1.Bias.ToArray(), file.Tensors[1].Values);
        IEnumerable<KeyValuePair<string, string>> expected = new Dictionary<string, string>
        {
            ["fusednets.input_size"] = "784",
            ["fusednets.input_shape"] = "1,28,28",
            ["fusednets.layers"] = "Conv1,Pool1,Conv2,Pool2,Fc1,Fc2,Logits",
            ["fusednets.layer.Conv1.kind"] = "Conv2D",
            ["fusednets.layer.Conv1.input_shape"] = "(1, 28, 28)",
            ["fusednets.layer.Conv1.filters"] = "6",
            ["fusednets.layer.Conv1.kernel"] = "5",
            ["fusednets.layer.Conv1.stride"] = "1",
            ["fusednets.layer.Conv1.padding"] = "2",
            ["fusednets.layer.Conv1.activation"] = "Relu",
            ["fusednets.layer.Conv1.mask"] = "none",
            ["fusednets.layer.Pool1.kind"] = "MaxPool2D",
            ["fusednets.layer.Pool1.input_shape"] = "(6, 28, 28)",
            ["fusednets.layer.Pool1.size"] = "2",
            ["fusednets.layer.Pool2.kind"] = "AvgPool2D",
            ["fusednets.layer.Pool2.input_shape"] = "(16, 10, 10)",
            ["fusednets.layer.Pool2.size"] = "2",
            ["fusednets.layer.Fc1.kind"] = "Dense",
            ["fusednets.layer.Fc1.units"] = "120",
            ["fusednets.layer.Fc1.inputs"] = "400",
        };
        Assert.Subset(file.Metadata.ToHashSet(), expected.ToHashSet());
        Assert.DoesNotContain(file.Metadata.Keys, key => key.StartsWith("fusednets.layer.Pool1.", StringComparison.Ordinal) && key.EndsWith(".activation", StringComparison.Ordinal));
    }

    [Fact]
    public void Masks_are_described_in_the_metadata()
    {
        using var net = new MaskedClassifier(seed: 0, Backend.IlgpuCpu);

        SafeTensorsContents file = SafeTensors.Read(new MemoryStream(SaveToBytes(net)));

        Assert.Equal("function(Banded)", file.Metadata["fusednets.layer.Local.mask"]);
        Assert.Equal("random(0.4, seed 7)", file.Metadata["fusednets.layer.Sparse.mask"]);
    }

    [Fact]
    public void A_loaded_network_keeps_the_seed_it_was_created_from()
    {
        using var saved = new TinyRegressor(seed: 42, Backend.IlgpuCpu);

        using var loaded = TinyRegressor.Load(new MemoryStream(SaveToBytes(saved)), Backend.IlgpuCpu);

        Assert.Equal(42, loaded.Seed);
    }

    [Fact]
    public void Saving_without_momentum_writes_no_momentum_tensors_and_with_it_one_per_parameter_tensor()
    {
        using var net = new TinyRegressor(seed: 1, Backend.IlgpuCpu);

        SafeTensorsContents plain = SafeTensors.Read(new MemoryStream(SaveToBytes(net)));
        SafeTensorsContents withMomentum = SafeTensors.Read(new MemoryStream(SaveToBytes(net, includeMomentum: true)));

        Assert.DoesNotContain(plain.Tensors, tensor => tensor.Name.EndsWith(".momentum", StringComparison.Ordinal));
        Assert.Equal(
            plain.Tensors.Select(tensor => tensor.Name).Concat(plain.Tensors.Select(tensor => tensor.Name + ".momentum")),
            withMomentum.Tensors.Select(tensor => tensor.Name));
    }

    public static TheoryData<string, string> Mismatches() => new()
    {
        { nameof(WideTinyRegressor), "The model file does not fit WideTinyRegressor: layer 'Hidden' has 11 units in the file but 12 in WideTinyRegressor." },
        { nameof(ReluTinyRegressor), "The model file does not fit ReluTinyRegressor: layer 'Hidden' has activation Tanh in the file but Relu in ReluTinyRegressor." },
        { nameof(RenamedTinyRegressor), "The model file does not fit RenamedTinyRegressor: layer 2 is 'Linear' in the file but 'Middle' in RenamedTinyRegressor." },
        { nameof(EveryActivationClassifier), "The model file does not fit EveryActivationClassifier: the loss is MeanSquaredError in the file but SoftmaxCrossEntropy in EveryActivationClassifier." },
        { nameof(ConvRegressor), "The model file does not fit ConvRegressor: the input has 3 features in the file but 198 in ConvRegressor." },
    };

    [Theory]
    [MemberData(nameof(Mismatches))]
    public void Loading_into_another_architecture_names_the_first_difference(string network, string message)
    {
        using var saved = new TinyRegressor(seed: 1, Backend.IlgpuCpu);
        byte[] file = SaveToBytes(saved);

        var error = Assert.Throws<InvalidDataException>(() => TestNetworkCatalog.Load(network, new MemoryStream(file), Backend.IlgpuCpu).Dispose());

        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void An_image_network_refuses_a_vector_network_of_as_many_inputs_naming_both_shapes()
    {
        // Once read "the input has shape 784,1,1 in the file but 1,28,28".
        using var saved = new MnistMlp(seed: 1, Backend.Cpu);

        var error = Assert.Throws<InvalidDataException>(() => LeNet.Load(new MemoryStream(SaveToBytes(saved)), Backend.Cpu));

        Assert.Equal("The model file does not fit LeNet: the input has shape (784) in the file but (1, 28, 28) in LeNet.", error.Message);
    }

    public static TheoryData<string, string> ConvMismatches() => new()
    {
        { nameof(WiderConvRegressor), "The model file does not fit WiderConvRegressor: layer 'Strided' has 3 filters in the file but 4 in WiderConvRegressor." },
        { nameof(SwappedPoolingConvRegressor), "The model file does not fit SwappedPoolingConvRegressor: layer 'Pool1' is of kind MaxPool2D in the file but AvgPool2D in SwappedPoolingConvRegressor." },
    };

    [Theory]
    [MemberData(nameof(ConvMismatches))]
    public void Loading_a_convolutional_network_into_another_names_the_first_difference(string network, string message)
    {
        using var saved = new ConvRegressor(seed: 1, Backend.Cpu);
        byte[] file = SaveToBytes(saved);

        var error = Assert.Throws<InvalidDataException>(() => (network switch
        {
            nameof(WiderConvRegressor) => (Network)WiderConvRegressor.Load(new MemoryStream(file), Backend.Cpu),
            _ => SwappedPoolingConvRegressor.Load(new MemoryStream(file), Backend.Cpu),
        }).Dispose());

        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void A_file_of_a_newer_format_version_is_refused()
    {
        using var saved = new TinyRegressor(seed: 1, Backend.IlgpuCpu);
        SafeTensorsContents contents = SafeTensors.Read(new MemoryStream(SaveToBytes(saved)));
        var metadata = new Dictionary<string, string>(contents.Metadata) { ["fusednets.format_version"] = "2" };

        var error = Assert.Throws<InvalidDataException>(() => TinyRegressor.Load(new MemoryStream(Write(metadata, contents.Tensors)), Backend.IlgpuCpu));

        Assert.Equal("The model file has format version 2; this FusedNets reads version 1.", error.Message);
    }

    [Fact]
    public void Masked_weights_load_as_zero_even_when_the_file_holds_values_there()
    {
        NetworkArchitecture architecture = MaskedClassifier.Definition;
        var dense = new float[architecture.ParameterCount];
        for (int i = 0; i < dense.Length; i++)
        {
            dense[i] = 1 + i;
        }

        using var net = MaskedClassifier.Load(new MemoryStream(Write([], TensorsOf(architecture, dense))), Backend.IlgpuCpu);

        for (int l = 0; l < architecture.Layers.Length; l++)
        {
            Layer layer = net.Layers[l + 1];
            int offset = architecture.WeightOffset(l);
            for (int output = 0; output < layer.Units; output++)
            {
                for (int input = 0; input < layer.Inputs; input++)
                {
                    int i = output * layer.Inputs + input;
                    Assert.Equal(layer.Mask.Keeps(output, input) ? dense[offset + i] : 0f, layer.Weights[i]);
                }
            }
        }
    }

    /// <summary>
    /// What Python writes for an nn.Sequential(Linear, ReLU, Linear, LeakyReLU, …) with
    /// <c>safetensors.torch.save_file(model.state_dict(), path)</c>: numbered names, no FusedNets metadata,
    /// the header padded with spaces, and the data in an order of its own. Names sort as numbers: "10" is
    /// the last layer, not the second.
    /// </summary>
    [Fact]
    public void A_file_saved_from_a_pytorch_sequential_loads_its_linear_layers_in_order()
    {
        NetworkArchitecture architecture = EveryActivationClassifier.Definition;
        float[] parameters = TestArchitectures.RandomParameters(architecture, seed: 8);
        var header = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
        var data = new List<float>();
        // Sequential indices 0, 2, …, 10 for the Linear modules; activations have no parameters.
        // The data section holds the layers last to first, biases before weights.
        for (int l = architecture.Layers.Length - 1; l >= 0; l--)
        {
            LayerArchitecture layer = architecture.Layers[l];
            foreach ((string suffix, int[] shape, int offset, int count) in new[]
            {
                ("bias", new[] { layer.Units }, architecture.BiasOffset(l), layer.Units),
                ("weight", new[] { layer.Units, layer.Inputs }, architecture.WeightOffset(l), layer.WeightCount),
            })
            {
                header.Append($",\"{2 * l}.{suffix}\":{{\"dtype\":\"F32\",\"shape\":[{string.Join(",", shape)}],\"data_offsets\":[{data.Count * 4},{(data.Count + count) * 4}]}}");
                data.AddRange(parameters.AsSpan(offset, count));
            }
        }

        header.Append('}');
        header.Append(' ', (8 - header.Length % 8) % 8);
        byte[] file = SafeTensorsTests.HandWritten(header.ToString(), [.. data]);

        using var net = EveryActivationClassifier.Load(new MemoryStream(file), Backend.IlgpuCpu);

        Assert.Equal(Bits(parameters), Bits(Parameters(net)));
    }

    /// <summary>
    /// What <c>save_file(model.state_dict(), path)</c> writes for the LeNet of docs/model-files.md built as an
    /// nn.Sequential: Conv2d (0), ReLU, MaxPool2d, Conv2d (3), ReLU, AvgPool2d, Flatten, Linear (7), ReLU, Linear (9),
    /// ReLU, Linear (11). Activations, pooling and Flatten have no tensors; "11" must sort after "9", and the tensors
    /// lie in the file in an order of their own.
    /// </summary>
    private static List<SafeTensor> PyTorchSequentialLeNet(float[] parameters)
    {
        NetworkArchitecture architecture = LeNet.Definition;
        int[] moduleOfLayer = [0, -1, 3, -1, 7, 9, 11];
        var tensors = new List<SafeTensor>();
        for (int l = 0; l < architecture.Layers.Length; l++)
        {
            int offset = architecture.ParameterOffset(l);
            foreach (ParameterTensor tensor in architecture.Layers[l].Parameters)
            {
                tensors.Add(new SafeTensor($"{moduleOfLayer[l]}.{tensor.Name}", [.. tensor.Shape], parameters[offset..(offset + tensor.Size)]));
                offset += tensor.Size;
            }
        }

        // The order of the file, last layer first and biases first, is not the order of the modules.
        tensors.Reverse();
        return tensors;
    }

    [Fact]
    public void A_file_saved_from_a_pytorch_sequential_LeNet_loads_its_conv_and_linear_layers_in_order()
    {
        float[] parameters = TestArchitectures.RandomParameters(LeNet.Definition, seed: 8);
        List<SafeTensor> tensors = PyTorchSequentialLeNet(parameters);
        Assert.Equal(
            [
                "11.bias [10]", "11.weight [10, 84]", "9.bias [84]", "9.weight [84, 120]", "7.bias [120]", "7.weight [120, 400]",
                "3.bias [16]", "3.weight [16, 6, 5, 5]", "0.bias [6]", "0.weight [6, 1, 5, 5]",
            ],
            tensors.Select(tensor => $"{tensor.Name} {tensor.ShapeText}"));

        using var net = LeNet.Load(new MemoryStream(Write(new() { ["format"] = "pt" }, tensors)), Backend.Cpu);

        Assert.Equal(Bits(parameters), Bits(Parameters(net)));
    }

    [Fact]
    public void A_pytorch_LeNet_whose_convolution_has_another_kernel_is_refused_naming_the_tensor()
    {
        List<SafeTensor> tensors = PyTorchSequentialLeNet(new float[LeNet.ParameterCount]);
        int conv2 = tensors.FindIndex(tensor => tensor.Name == "3.weight");
        tensors[conv2] = new SafeTensor("3.weight", [16, 6, 3, 3], new float[16 * 6 * 3 * 3]);

        var error = Assert.Throws<InvalidDataException>(() => LeNet.Load(new MemoryStream(Write([], tensors)), Backend.Cpu));

        Assert.Equal("Tensor '3.weight' has shape [16, 6, 3, 3] in the file, but layer 'Conv2' of LeNet needs [16, 6, 5, 5].", error.Message);
    }

    [Fact]
    public void A_foreign_file_whose_shapes_do_not_match_names_the_tensor_and_the_layer()
    {
        NetworkArchitecture architecture = TinyRegressor.Definition;
        List<SafeTensor> tensors = TensorsOf(architecture, new float[architecture.ParameterCount], layer => $"{layer}");
        tensors[2] = new SafeTensor("1.weight", [6, 12], new float[72]);

        var error = Assert.Throws<InvalidDataException>(() => TinyRegressor.Load(new MemoryStream(Write([], tensors)), Backend.IlgpuCpu));

        Assert.Equal("Tensor '1.weight' has shape [6, 12] in the file, but layer 'Linear' of TinyRegressor needs [6, 11].", error.Message);
    }

    [Fact]
    public void A_foreign_file_with_tensors_other_than_linear_layers_is_refused()
    {
        NetworkArchitecture architecture = TinyRegressor.Definition;
        List<SafeTensor> tensors = TensorsOf(architecture, new float[architecture.ParameterCount], layer => $"{layer}");
        tensors.Add(new SafeTensor("1.running_mean", [11], new float[11]));

        var error = Assert.Throws<InvalidDataException>(() => TinyRegressor.Load(new MemoryStream(Write([], tensors)), Backend.IlgpuCpu));

        Assert.Contains("'1.running_mean', which is neither a '.weight' nor a '.bias'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_foreign_file_with_the_layers_own_names_loads_by_name()
    {
        NetworkArchitecture architecture = TinyRegressor.Definition;
        float[] parameters = TestArchitectures.RandomParameters(architecture, seed: 2);
        List<SafeTensor> tensors = TensorsOf(architecture, parameters);
        tensors.Reverse();

        using var net = TinyRegressor.Load(new MemoryStream(Write([], tensors)), Backend.IlgpuCpu);

        Assert.Equal(Bits(parameters), Bits(Parameters(net)));
    }

    [Fact]
    public void Names_sort_with_numbers_compared_as_numbers()
    {
        string[] names = ["layers.10", "layers.2", "fc10", "fc2", "fc1", "layers.2.sub"];

        Array.Sort(names, ModelFile.NaturalCompare);

        Assert.Equal(["fc1", "fc2", "fc10", "layers.2", "layers.2.sub", "layers.10"], names);
    }

    internal static byte[] SaveToBytes(Network net, bool includeMomentum = false)
    {
        using var stream = new MemoryStream();
        net.Save(stream, includeMomentum);
        return stream.ToArray();
    }

    internal static float[] Parameters(Network net)
    {
        var parameters = new float[net.Architecture.ParameterCount];
        net.CopyParametersTo(parameters);
        return parameters;
    }

    internal static int[] Bits(float[] values) => Array.ConvertAll(values, BitConverter.SingleToInt32Bits);

    internal static string TemporaryDirectory()
    {
        string directory = Path.Combine(Path.GetTempPath(), "fusednets-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        return directory;
    }

    private static float[] Predict(Network net, TestBatch batch)
    {
        var outputs = new float[batch.Size * net.Architecture.OutputSize];
        net.Predict(batch.Inputs, outputs);
        return outputs;
    }

    /// <summary>Each layer's weight and bias, named "&lt;name&gt;.weight" and "&lt;name&gt;.bias".</summary>
    private static List<SafeTensor> TensorsOf(NetworkArchitecture architecture, float[] parameters, Func<int, string>? name = null)
    {
        var tensors = new List<SafeTensor>();
        for (int l = 0; l < architecture.Layers.Length; l++)
        {
            LayerArchitecture layer = architecture.Layers[l];
            string prefix = name?.Invoke(l) ?? layer.Name;
            tensors.Add(new SafeTensor(prefix + ".weight", [layer.Units, layer.Inputs], parameters[architecture.WeightOffset(l)..architecture.BiasOffset(l)]));
            tensors.Add(new SafeTensor(prefix + ".bias", [layer.Units], parameters[architecture.BiasOffset(l)..(architecture.BiasOffset(l) + layer.Units)]));
        }

        return tensors;
    }

    private static byte[] Write(Dictionary<string, string> metadata, IReadOnlyList<SafeTensor> tensors)
    {
        using var stream = new MemoryStream();
        SafeTensors.Write(stream, metadata, tensors);
        return stream.ToArray();
    }
}
