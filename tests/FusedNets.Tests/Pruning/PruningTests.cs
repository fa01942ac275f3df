using FusedNets.Backends.Cpu;
using FusedNets.Data;
using FusedNets.Reference;
using FusedNets.Tests.Cpu;
using FusedNets.Tests.Reference;

namespace FusedNets.Tests.Pruning;

/// <summary>A dense classifier with a declared random mask in its middle layer, for pruning to combine with.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class PrunableMlp
{
    [Input(13)] public partial Layer X { get; }
    [Dense(40, Activation.Relu)] public partial Layer Hidden { get; }
    [Dense(17, Activation.Tanh, Density = 0.6, MaskSeed = 3)] public partial Layer Masked { get; }
    [Dense(4)] public partial Layer Logits { get; }
}

/// <summary>A convolution, a pooling layer (nothing to prune) and a dense layer.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class PrunableConvNet
{
    [Input(2, 8, 8)] public partial Layer Image { get; }
    [Conv2D(5, 3, Activation.Relu, Padding = 1)] public partial Layer Conv { get; }
    [MaxPool2D(2)] public partial Layer Pool { get; }
    [Dense(3)] public partial Layer Logits { get; }
}

/// <summary>
/// <c>Prune</c> keeps exactly the requested number of largest-magnitude weights (ties by index), and the pruned
/// weights then stay zero through training, saving and loading, on every backend, as declared masks do.
/// </summary>
public class PruningTests
{
    public static TheoryData<string, Backend> EveryNetworkOnEveryCpuBackend() => new()
    {
        { nameof(PrunableMlp), Backend.Cpu },
        { nameof(PrunableMlp), Backend.IlgpuCpu },
        { nameof(PrunableConvNet), Backend.Cpu },
        { nameof(PrunableConvNet), Backend.IlgpuCpu },
    };

    [Theory]
    [InlineData(0.25f)]
    [InlineData(0.1f)]
    [InlineData(0.5f)]
    [InlineData(0f)]
    [InlineData(1f)]
    public void A_pruned_layer_keeps_exactly_the_requested_count_of_its_largest_weights(float keepFraction)
    {
        using var net = new PrunableMlp(seed: 1, Backend.Cpu);
        float[] before = net.Hidden.Weights.ToArray();

        net.Hidden.Prune(keepFraction);

        float[] after = net.Hidden.Weights.ToArray();
        bool[] kept = Kept(net.Hidden);
        int expected = (int)Math.Round(keepFraction * before.Length, MidpointRounding.ToEven);
        Assert.Equal(expected, kept.Count(keep => keep));
        float smallestKept = float.PositiveInfinity, largestPruned = 0;
        for (int i = 0; i < before.Length; i++)
        {
            Assert.Equal(kept[i] ? before[i] : 0f, after[i]);
            if (kept[i])
            {
                smallestKept = Math.Min(smallestKept, Math.Abs(before[i]));
            }
            else
            {
                largestPruned = Math.Max(largestPruned, Math.Abs(before[i]));
            }
        }

        Assert.True(largestPruned <= smallestKept, $"A pruned weight of magnitude {largestPruned} was larger than a kept one of {smallestKept}.");
    }

    [Fact]
    public void Among_weights_of_equal_magnitude_the_lower_indices_are_kept()
    {
        using var net = new PrunableMlp(seed: 1, Backend.Cpu);
        Span<float> weights = net.Hidden.Weights;
        for (int i = 0; i < weights.Length; i++)
        {
            weights[i] = i % 2 == 0 ? 0.5f : -0.5f;
        }

        weights[400] = 0.75f;

        net.Hidden.Prune(0.3f);

        int expected = (int)Math.Round(0.3 * weights.Length);
        bool[] kept = Kept(net.Hidden);
        Assert.Equal([.. Enumerable.Range(0, expected - 1).Append(400)], Enumerable.Range(0, kept.Length).Where(i => kept[i]));
    }

    [Fact]
    public void Pruning_combines_with_a_declared_mask_and_never_revives_a_weight()
    {
        using var net = new PrunableMlp(seed: 2, Backend.Cpu);
        bool[] declared = Kept(net.Masked);
        int declaredKept = declared.Count(keep => keep);

        net.Masked.Prune(0.9f);
        Assert.Equal(declared, Kept(net.Masked));

        net.Masked.Prune(0.25f);
        bool[] pruned = Kept(net.Masked);
        Assert.Equal((int)Math.Round(0.25 * declared.Length), pruned.Count(keep => keep));
        Assert.True(declaredKept > pruned.Count(keep => keep));
        Assert.All(Enumerable.Range(0, pruned.Length), i => Assert.True(!pruned[i] || declared[i], $"Weight {i} was revived."));
    }

    [Fact]
    public void Global_pruning_takes_one_magnitude_threshold_across_the_layers()
    {
        using var net = new PrunableMlp(seed: 3, Backend.Cpu);
        Scale(net.Hidden.Weights, 0.01f);
        Scale(net.Logits.Weights, 10f);
        Layer[] layers = [net.Hidden, net.Masked, net.Logits];
        float[][] before = [.. layers.Select(layer => layer.Weights.ToArray())];
        int weights = layers.Sum(layer => layer.Weights.Length);

        net.Prune(0.2f, global: true);

        bool[][] kept = [.. layers.Select(Kept)];
        Assert.Equal((int)Math.Round(0.2 * weights), kept.Sum(layer => layer.Count(keep => keep)));
        Assert.True(kept[0].Count(keep => keep) < 0.2 * kept[0].Length, "the layer of small weights keeps less than the fraction");
        Assert.True(kept[2].Count(keep => keep) > 0.8 * kept[2].Length, "the layer of large weights keeps more");
        float smallestKept = float.PositiveInfinity, largestPruned = 0;
        for (int l = 0; l < layers.Length; l++)
        {
            for (int i = 0; i < before[l].Length; i++)
            {
                if (kept[l][i])
                {
                    smallestKept = Math.Min(smallestKept, Math.Abs(before[l][i]));
                }
                else
                {
                    largestPruned = Math.Max(largestPruned, Math.Abs(before[l][i]));
                }
            }
        }

        Assert.True(largestPruned <= smallestKept, $"A pruned weight of magnitude {largestPruned} was larger than a kept one of {smallestKept}.");
    }

    [Fact]
    public void Layer_by_layer_pruning_keeps_the_fraction_of_each_layer()
    {
        using var net = new PrunableConvNet(seed: 3, Backend.Cpu);

        net.Prune(0.4f);

        foreach (Layer layer in new[] { net.Conv, net.Logits })
        {
            Assert.Equal((int)Math.Round(0.4 * layer.Weights.Length, MidpointRounding.ToEven), Kept(layer).Count(keep => keep));
        }
    }

    [Theory]
    [MemberData(nameof(EveryNetworkOnEveryCpuBackend))]
    public void Pruned_weights_stay_zero_through_training_saving_and_loading(string name, Backend backend)
    {
        using Network net = Create(name, backend, seed: 4);
        Dataset data = RandomData(net.Architecture, count: 16, seed: 5);
        var sgd = new Sgd(0.1f, momentum: 0.9f, weightDecay: 0.01f);
        net.Fit(data, sgd, epochs: 2, batchSize: 8);

        net.Prune(0.3f);
        bool[][] masks = [.. Weighted(net).Select(Kept)];
        net.Fit(data, sgd, epochs: 3, batchSize: 8);
        AssertPrunedAreZero(net, masks);

        var file = new MemoryStream();
        net.Save(file, includeMomentum: true);
        file.Position = 0;
        using Network loaded = Load(name, file, backend);

        Assert.Equal(masks, Weighted(loaded).Select(Kept));
        AssertPrunedAreZero(loaded, masks);
        Assert.Equal(Parameters(net), Parameters(loaded));
        loaded.Fit(data, sgd, epochs: 2, batchSize: 8, firstEpoch: 6);
        AssertPrunedAreZero(loaded, masks);
    }

    [Theory]
    [InlineData(Backend.Cpu)]
    [InlineData(Backend.IlgpuCpu)]
    public void A_pruned_network_trains_like_the_reference_with_the_same_masks(Backend backend)
    {
        using var net = new PrunableMlp(seed: 6, Backend.Cpu);
        net.SetParameters(TestArchitectures.RandomParameters(net.Architecture, seed: 7));
        net.Hidden.Prune(0.15f);
        net.Logits.Prune(0.5f);
        using var pruned = PrunableMlp.Load(SavedBytes(net), backend);
        (float[] parameters, float[]?[] masks) = pruned.ReadModel();
        var reference = new ReferenceNetwork(pruned.Architecture, parameters, masks);
        SgdStep step = new Sgd(0.1f, momentum: 0.9f, weightDecay: 0.01f).ToStep();

        for (int i = 0; i < 4; i++)
        {
            TestBatch batch = TestArchitectures.RandomBatch(pruned.Architecture, 11, seed: 20 + i);
            reference.TrainBatch(batch, step);
            pruned.TrainBatch(batch.Inputs, batch.Labels, new Sgd(0.1f, momentum: 0.9f, weightDecay: 0.01f));
        }

        CpuEngineTests.AssertClose(reference.Parameters, Parameters(pruned), 1e-4);
    }

    [Fact]
    public void A_layer_pruned_far_enough_runs_on_the_sparse_kernels()
    {
        using var net = new PrunableMlp(seed: 1, Backend.Cpu);
        var engine = (CpuEngine)net.Engine;
        Assert.Null(engine.LayerWeights(0)!.Sparse);

        net.Hidden.Prune(0.5f);
        Assert.Null(engine.LayerWeights(0)!.Sparse);

        net.Hidden.Prune(0.1f);
        SparseStructure sparse = Assert.IsType<SparseStructure>(engine.LayerWeights(0)!.Sparse);
        Assert.Equal(Kept(net.Hidden).Count(keep => keep), sparse.Columns.Length);
    }

    [Fact]
    public void Rewinding_with_SetParameters_restores_the_kept_weights_and_keeps_the_pruned_at_zero()
    {
        using var net = new PrunableMlp(seed: 8, Backend.Cpu);
        var initial = new float[PrunableMlp.ParameterCount];
        net.CopyParametersTo(initial);
        Dataset data = RandomData(net.Architecture, count: 30, seed: 9);
        net.Fit(data, new Sgd(0.1f, momentum: 0.9f), epochs: 2, batchSize: 6);
        net.Prune(0.2f);
        bool[][] masks = [.. Weighted(net).Select(Kept)];

        net.SetParameters(initial);

        float[] rewound = Parameters(net);
        NetworkArchitecture architecture = net.Architecture;
        for (int l = 0; l < masks.Length; l++)
        {
            int offset = architecture.WeightOffset(l);
            for (int i = 0; i < masks[l].Length; i++)
            {
                Assert.Equal(masks[l][i] ? initial[offset + i] : 0f, rewound[offset + i]);
            }
        }

        Assert.Equal(masks, Weighted(net).Select(Kept));
        net.Fit(data, new Sgd(0.1f, momentum: 0.9f), epochs: 1, batchSize: 6);
        AssertPrunedAreZero(net, masks);
    }

    [Theory]
    [InlineData(-0.1f)]
    [InlineData(1.5f)]
    [InlineData(float.NaN)]
    public void A_fraction_outside_zero_to_one_is_refused(float keepFraction)
    {
        using var net = new PrunableMlp(seed: 1, Backend.Cpu);
        float[] before = Parameters(net);

        Assert.Throws<ArgumentOutOfRangeException>(() => net.Hidden.Prune(keepFraction));
        Assert.Throws<ArgumentOutOfRangeException>(() => net.Prune(keepFraction, global: true));
        Assert.Equal(before, Parameters(net));
    }

    [Fact]
    public void A_layer_without_weights_cannot_be_pruned()
    {
        using var net = new PrunableConvNet(seed: 1, Backend.Cpu);

        Assert.Contains("'Pool'", Assert.Throws<InvalidOperationException>(() => net.Pool.Prune(0.5f)).Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => net.Image.Prune(0.5f));
    }

    [Fact]
    public void A_mask_tensor_holding_anything_but_zeros_and_ones_is_refused()
    {
        using var net = new PrunableMlp(seed: 1, Backend.Cpu);
        net.Hidden.Prune(0.5f);
        byte[] file = SavedBytes(net).ToArray();

        // The first float of Hidden.weight_mask is 0 or 1; rewrite it as 0.5 where the header says it lies.
        string header = System.Text.Encoding.UTF8.GetString(file, 8, (int)BitConverter.ToUInt64(file, 0));
        using var json = System.Text.Json.JsonDocument.Parse(header);
        long start = json.RootElement.GetProperty("Hidden.weight_mask").GetProperty("data_offsets")[0].GetInt64();
        BitConverter.GetBytes(0.5f).CopyTo(file, 8 + header.Length + (int)start);

        var error = Assert.Throws<InvalidDataException>(() => PrunableMlp.Load(new MemoryStream(file), Backend.Cpu));
        Assert.Contains("Hidden.weight_mask", error.Message, StringComparison.Ordinal);
    }

    private static Network Create(string name, Backend backend, int seed) => name switch
    {
        nameof(PrunableMlp) => new PrunableMlp(seed, backend),
        nameof(PrunableConvNet) => new PrunableConvNet(seed, backend),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };

    private static Network Load(string name, Stream stream, Backend backend) => name switch
    {
        nameof(PrunableMlp) => PrunableMlp.Load(stream, backend),
        nameof(PrunableConvNet) => PrunableConvNet.Load(stream, backend),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };

    private static MemoryStream SavedBytes(Network net)
    {
        var file = new MemoryStream();
        net.Save(file);
        file.Position = 0;
        return file;
    }

    private static IEnumerable<Layer> Weighted(Network net) => net.Layers.Where(layer => layer.Weights.Length > 0);

    /// <summary>Which of the layer's weights its mask keeps, in the weight tensor's layout.</summary>
    private static bool[] Kept(Layer layer)
    {
        (int rows, int columns) = layer.Architecture!.WeightMatrix;
        return [.. layer.Mask.ToArray(rows, columns).Select(keep => keep != 0)];
    }

    private static void AssertPrunedAreZero(Network net, bool[][] masks)
    {
        float[] parameters = Parameters(net);
        var momentum = new float[parameters.Length];
        net.Engine.ReadMomentum(momentum);
        int[] weighted = [.. Enumerable.Range(0, net.Architecture.Layers.Length).Where(l => net.Architecture.Layers[l].Weight is not null)];
        for (int k = 0; k < weighted.Length; k++)
        {
            int offset = net.Architecture.WeightOffset(weighted[k]);
            for (int i = 0; i < masks[k].Length; i++)
            {
                if (!masks[k][i])
                {
                    Assert.Equal(0f, parameters[offset + i]);
                    Assert.Equal(0f, momentum[offset + i]);
                }
            }
        }

        Assert.Contains(Enumerable.Range(0, parameters.Length), i => parameters[i] != 0);
    }

    private static float[] Parameters(Network net)
    {
        var parameters = new float[net.Architecture.ParameterCount];
        net.CopyParametersTo(parameters);
        return parameters;
    }

    private static void Scale(Span<float> values, float factor)
    {
        foreach (ref float value in values)
        {
            value *= factor;
        }
    }

    private static Dataset RandomData(NetworkArchitecture architecture, int count, int seed)
    {
        var random = new Random(seed);
        float[] features = [.. Enumerable.Range(0, count * architecture.InputSize).Select(_ => random.NextSingle() * 2 - 1)];
        int[] labels = [.. Enumerable.Range(0, count).Select(_ => random.Next(architecture.OutputSize))];
        return Dataset.ForClassification(features, labels, architecture.InputSize);
    }
}
