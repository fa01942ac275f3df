using FusedNets.Data;
using FusedNets.Persistence;
using FusedNets.Reference;
using FusedNets.Tests.Hardening;
using FusedNets.Tests.Persistence;
using Microsoft.ML.OnnxRuntime;

namespace FusedNets.Tests.Training;

[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class StandardizedClassifier
{
    [Input(5, Standardize = true)] public partial Layer Features { get; }
    [Dense(7, Activation.Tanh)] public partial Layer Hidden { get; }
    [Dense(3)] public partial Layer Logits { get; }
}

/// <summary><see cref="StandardizedClassifier"/> without standardization: it is fed standardized features by hand.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class PlainClassifier
{
    [Input(5)] public partial Layer Features { get; }
    [Dense(7, Activation.Tanh)] public partial Layer Hidden { get; }
    [Dense(3)] public partial Layer Logits { get; }
}

/// <summary>16 features: rows of whole vectors, which the first layer's update would read from the caller's batch as they lie.</summary>
[Network(Loss = Loss.MeanSquaredError)]
public partial class StandardizedSixteen
{
    [Input(16, Standardize = true)] public partial Layer Features { get; }
    [Dense(4)] public partial Layer Out { get; }
}

[Network(Loss = Loss.MeanSquaredError)]
public partial class PlainSixteen
{
    [Input(16)] public partial Layer Features { get; }
    [Dense(4)] public partial Layer Out { get; }
}

[Network(Loss = Loss.MeanSquaredError)]
public partial class StandardizedImageRegressor
{
    [Input(2, 5, 4, Standardize = true)] public partial Layer Image { get; }
    [Conv2D(3, 3, Activation.Relu, Padding = 1)] public partial Layer Conv { get; }
    [Dense(2)] public partial Layer Out { get; }
}

[Network(Loss = Loss.MeanSquaredError)]
public partial class PlainImageRegressor
{
    [Input(2, 5, 4)] public partial Layer Image { get; }
    [Conv2D(3, 3, Activation.Relu, Padding = 1)] public partial Layer Conv { get; }
    [Dense(2)] public partial Layer Out { get; }
}

/// <summary>
/// <c>[Input(..., Standardize = true)]</c>: the network takes raw features everywhere and computes exactly what the same
/// network computes on features standardized by hand, (x − mean) / deviation in float, per feature or per channel; Fit
/// estimates the statistics; they travel in model files and ONNX exports; and the tabular case of issue 11, features
/// whose scales differ by six orders of magnitude, trains.
/// </summary>
public class StandardizationTests
{
    public static TheoryData<Backend> CpuBackends() => [Backend.Cpu, Backend.IlgpuCpu];

    private static readonly Standardization FeatureStatistics = new([0.5f, -2f, 1000f, 0.001f, 0f], [2f, 0.25f, 300f, 0.0005f, 1f]);
    private static readonly Standardization ChannelStatistics = new([3f, -0.5f], [0.75f, 4f]);

    [Theory]
    [MemberData(nameof(CpuBackends))]
    public void Raw_features_predict_evaluate_backpropagate_and_train_as_features_standardized_by_hand(Backend backend)
    {
        using var standardized = new StandardizedClassifier(seed: 1, backend) { Standardization = FeatureStatistics };
        using var plain = new PlainClassifier(seed: 1, backend);
        Dataset raw = RawData(StandardizedClassifier.Definition, FeatureStatistics, samples: 21, seed: 2);
        Dataset byHand = ByHand(raw, FeatureStatistics, valuesPerChannel: 1);

        AssertSameBits(Outputs(plain, byHand), Outputs(standardized, raw));
        AssertSameBits(ToArray(plain.Predict(PlainClassifier.Input.From(byHand.FeaturesOf(4)))), ToArray(standardized.Predict(StandardizedClassifier.Input.From(raw.FeaturesOf(4)))));
        Assert.Equal(plain.Evaluate(byHand), standardized.Evaluate(raw));
        AssertSameBits(Divided(InputGradient(plain, byHand), FeatureStatistics, valuesPerChannel: 1), InputGradient(standardized, raw));

        plain.Fit(byHand, new Adam(0.01f), epochs: 3, batchSize: 8);
        standardized.Fit(raw, new Adam(0.01f), epochs: 3, batchSize: 8);
        AssertSameBits(ModelFileTests.Parameters(plain), ModelFileTests.Parameters(standardized));
    }

    [Theory]
    [MemberData(nameof(CpuBackends))]
    public void An_image_is_standardized_per_channel_as_by_hand(Backend backend)
    {
        using var standardized = new StandardizedImageRegressor(seed: 1, backend) { Standardization = ChannelStatistics };
        using var plain = new PlainImageRegressor(seed: 1, backend);
        Dataset raw = RawData(StandardizedImageRegressor.Definition, ChannelStatistics, samples: 9, seed: 3);
        Dataset byHand = ByHand(raw, ChannelStatistics, valuesPerChannel: 20);

        AssertSameBits(Outputs(plain, byHand), Outputs(standardized, raw));
        AssertSameBits(ToArray(plain.Predict(PlainImageRegressor.Input.From(byHand.FeaturesOf(2)))), ToArray(standardized.Predict(StandardizedImageRegressor.Input.From(raw.FeaturesOf(2)))));
        AssertSameBits(Divided(InputGradient(plain, byHand), ChannelStatistics, valuesPerChannel: 20), InputGradient(standardized, raw));

        plain.Fit(byHand, new Sgd(0.01f, momentum: 0.9f), epochs: 1, batchSize: 9);
        standardized.Fit(raw, new Sgd(0.01f, momentum: 0.9f), epochs: 1, batchSize: 9);
        AssertSameBits(ModelFileTests.Parameters(plain), ModelFileTests.Parameters(standardized));
    }

    [Fact]
    public void A_first_layer_whose_rows_need_no_padding_learns_from_the_standardized_batch_not_the_callers()
    {
        // Once broke: that layer's weight gradient read the caller's rows where they lay, raw.
        var statistics = new Standardization([.. Enumerable.Range(0, 16).Select(i => 10f * i)], [.. Enumerable.Range(0, 16).Select(i => 1f + i)]);
        using var standardized = new StandardizedSixteen(seed: 1, Backend.Cpu) { Standardization = statistics };
        using var plain = new PlainSixteen(seed: 1, Backend.Cpu);
        Dataset raw = RawData(StandardizedSixteen.Definition, statistics, samples: 32, seed: 6);

        plain.Fit(ByHand(raw, statistics, valuesPerChannel: 1), new Sgd(0.01f), epochs: 2, batchSize: 16);
        standardized.Fit(raw, new Sgd(0.01f), epochs: 2, batchSize: 16);

        AssertSameBits(ModelFileTests.Parameters(plain), ModelFileTests.Parameters(standardized));
    }

    [Fact]
    public void The_engines_match_the_reference_which_standardizes_in_double()
    {
        using var net = new StandardizedImageRegressor(seed: 1, Backend.Cpu) { Standardization = ChannelStatistics };
        float[] parameters = ModelFileTests.Parameters(net);
        var reference = new ReferenceNetwork(net.Architecture, parameters, [null, null]) { Standardization = ChannelStatistics };
        Dataset raw = RawData(net.Architecture, ChannelStatistics, samples: 5, seed: 4);
        double[] inputs = [.. raw.Features.ToArray().Select(x => (double)x)];

        ReferenceGradients expected = reference.Gradients(inputs, [], [.. raw.Targets.ToArray().Select(t => (double)t)], raw.Count);

        Cpu.CpuEngineTests.AssertClose(reference.Forward(inputs, raw.Count), Outputs(net, raw));
        Cpu.CpuEngineTests.AssertClose(expected.Inputs, InputGradient(net, raw));
    }

    [Fact]
    public void Fit_estimates_each_features_mean_and_population_standard_deviation_before_its_first_step()
    {
        // Feature 0: 1, 2, 3, 4 (mean 2.5, deviation √1.25); feature 1 constant; feature 2 a million times feature 0.
        float[] features =
        [
            1, 7, 1e6f, -1, 0,
            2, 7, 2e6f, 1, 0,
            3, 7, 3e6f, -1, 0,
            4, 7, 4e6f, 1, 0,
        ];
        Dataset data = Dataset.ForClassification(features, [0, 1, 2, 0], 5);
        using var net = new StandardizedClassifier(seed: 1, Backend.Cpu);
        Assert.Null(net.Standardization);

        net.Fit(data, new Adam(), epochs: 1);

        Assert.Equal([2.5f, 7f, 2.5e6f, 0f, 0f], net.Standardization!.Mean);
        Assert.Equal([(float)Math.Sqrt(1.25), 1f, (float)Math.Sqrt(1.25e12), 1f, 1f], net.Standardization.StandardDeviation);
    }

    [Fact]
    public void Fit_keeps_statistics_it_already_has_and_estimates_again_once_they_are_cleared()
    {
        Dataset first = RawData(StandardizedClassifier.Definition, FeatureStatistics, samples: 30, seed: 1);
        Dataset second = RawData(StandardizedClassifier.Definition, ChannelStatisticsFor5(), samples: 30, seed: 2);
        using var net = new StandardizedClassifier(seed: 1, Backend.Cpu);
        net.Fit(first, new Adam(), epochs: 1);
        Standardization estimated = net.Standardization!;

        net.Fit(second, new Adam(), epochs: 1, firstEpoch: 2);
        Assert.Same(estimated, net.Standardization);

        net.Standardization = null;
        net.Fit(second, new Adam(), epochs: 1, firstEpoch: 3);
        Assert.Equal(Standardization.Estimate(second, net.Architecture).Mean, net.Standardization!.Mean);
    }

    [Fact]
    public void Estimate_takes_each_channels_statistics_over_every_pixel_of_every_sample()
    {
        // Two samples of (2, 5, 4): channel 0 holds 0..19 then 20..39, channel 1 is constant 5.
        float[] features = new float[2 * 40];
        for (int s = 0; s < 2; s++)
        {
            for (int p = 0; p < 20; p++)
            {
                features[s * 40 + p] = s * 20 + p;
                features[s * 40 + 20 + p] = 5;
            }
        }

        Standardization statistics = Standardization.Estimate(Dataset.ForRegression(features, new float[4], 40, 2), StandardizedImageRegressor.Definition);

        // 0..39: mean 19.5, population variance (40² − 1) / 12.
        Assert.Equal([19.5f, 5f], statistics.Mean);
        Assert.Equal([(float)Math.Sqrt((40.0 * 40 - 1) / 12), 1f], statistics.StandardDeviation);
    }

    [Fact]
    public void TrainBatch_refuses_to_train_on_statistics_the_network_does_not_have()
    {
        using var net = new StandardizedClassifier(seed: 1, Backend.Cpu);

        var error = Assert.Throws<InvalidOperationException>(() => net.TrainBatch(new float[5], [0], new Adam()));

        Assert.Contains("StandardizedClassifier standardizes its input, but has no statistics yet", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Statistics_are_refused_by_a_network_that_does_not_standardize_and_for_another_number_of_features()
    {
        using var plain = new PlainClassifier(seed: 1, Backend.Cpu);
        using var standardized = new StandardizedClassifier(seed: 1, Backend.Cpu);

        Assert.Throws<InvalidOperationException>(() => plain.Standardization = FeatureStatistics);
        var error = Assert.Throws<ArgumentException>(() => standardized.Standardization = ChannelStatistics);
        Assert.Equal("StandardizedClassifier standardizes 5 features; the statistics are for 2. (Parameter 'value')", error.Message);
        Assert.Throws<ArgumentException>(() => new Standardization([0f], [0f]));
        Assert.Throws<ArgumentException>(() => new Standardization([float.NaN], [1f]));
        Assert.Throws<ArgumentException>(() => new Standardization([0f, 1f], [1f]));
    }

    [Theory]
    [MemberData(nameof(CpuBackends))]
    public void The_statistics_are_saved_and_loaded_with_the_model(Backend backend)
    {
        using var saved = new StandardizedClassifier(seed: 1, backend) { Standardization = FeatureStatistics };
        byte[] file = ModelFileTests.SaveToBytes(saved);

        using var loaded = StandardizedClassifier.Load(new MemoryStream(file), backend);

        Assert.Equal(FeatureStatistics.Mean, loaded.Standardization!.Mean);
        Assert.Equal(FeatureStatistics.StandardDeviation, loaded.Standardization.StandardDeviation);
        Dataset raw = RawData(saved.Architecture, FeatureStatistics, samples: 6, seed: 8);
        AssertSameBits(Outputs(saved, raw), Outputs(loaded, raw));
        SafeTensorsContents contents = SafeTensors.Read(new MemoryStream(file));
        Assert.Equal("true", contents.Metadata["fusednets.input_standardized"]);
        Assert.Equal([5], contents.Tensors.Single(tensor => tensor.Name == "Features.std").Shape);
        Assert.Equal([.. FeatureStatistics.Mean], contents.Tensors.Single(tensor => tensor.Name == "Features.mean").Values);
    }

    [Fact]
    public void A_network_saved_before_it_had_statistics_loads_without_them()
    {
        using var saved = new StandardizedClassifier(seed: 1, Backend.Cpu);

        using var loaded = StandardizedClassifier.Load(new MemoryStream(ModelFileTests.SaveToBytes(saved)), Backend.Cpu);

        Assert.Null(loaded.Standardization);
    }

    [Fact]
    public void A_file_of_a_standardizing_network_does_not_fit_one_that_does_not_standardize_nor_the_other_way_round()
    {
        using var standardized = new StandardizedClassifier(seed: 1, Backend.Cpu);
        using var plain = new PlainClassifier(seed: 1, Backend.Cpu);

        var error = Assert.Throws<InvalidDataException>(() => PlainClassifier.Load(new MemoryStream(ModelFileTests.SaveToBytes(standardized)), Backend.Cpu));
        Assert.Equal("The model file does not fit PlainClassifier: the input is standardized in the file but not standardized in PlainClassifier.", error.Message);
        Assert.Throws<InvalidDataException>(() => StandardizedClassifier.Load(new MemoryStream(ModelFileTests.SaveToBytes(plain)), Backend.Cpu));
    }

    [Fact]
    public void OnnxRuntime_standardizes_raw_features_as_Predict_does()
    {
        using var vector = new StandardizedClassifier(seed: 1, Backend.Cpu) { Standardization = FeatureStatistics };
        using var image = new StandardizedImageRegressor(seed: 1, Backend.Cpu) { Standardization = ChannelStatistics };

        foreach ((Network net, Standardization statistics, long[] sample) in new (Network, Standardization, long[])[]
        {
            (vector, FeatureStatistics, [5]),
            (image, ChannelStatistics, [2, 5, 4]),
        })
        {
            using var stream = new MemoryStream();
            net.ExportOnnx(stream);
            using var session = new InferenceSession(stream.ToArray());
            Dataset raw = RawData(net.Architecture, statistics, samples: 7, seed: 5);
            using var input = OrtValue.CreateTensorValueFromMemory(raw.Features.ToArray(), [raw.Count, .. sample]);
            using var runOptions = new RunOptions();
            using IDisposableReadOnlyCollection<OrtValue> outputs = session.Run(runOptions, ["input"], [input], ["output"]);

            float[] expected = Outputs(net, raw), actual = outputs[0].GetTensorDataAsSpan<float>().ToArray();
            Assert.All(expected.Zip(actual), pair => Assert.True(Math.Abs(pair.First - pair.Second) <= 1e-5 * (1 + Math.Abs(pair.First)), $"Predict {pair.First}, ONNX Runtime {pair.Second}"));
        }
    }

    [Fact]
    public void Features_of_very_different_scales_train_once_standardized()
    {
        // Issue 11's case: scikit-learn's breast cancer set, whose 30 features' scales run from 0.001 to 1000, read, split
        // and fitted with SGD as a new user would. On the raw features the network stays near the share of the majority
        // class; standardized, the same network and training learn the task.
        Dataset data = Csv.ReadClassification(Path.Combine(TestPaths.TestProject, "TestData", "breast_cancer.csv.gz"), skipRows: 1);
        (Dataset train, Dataset test) = data.Split(0.25, seed: 0);
        using var raw = new RawCancerClassifier(seed: 0, Backend.Cpu);
        using var standardized = new CancerClassifier(seed: 0, Backend.Cpu);

        raw.Fit(train, new Sgd(0.01f, momentum: 0.9f), epochs: 30);
        standardized.Fit(train, new Sgd(0.01f, momentum: 0.9f), epochs: 30);

        float majority = (float)test.Labels.ToArray().GroupBy(label => label).Max(group => group.Count()) / test.Count;
        float rawAccuracy = raw.Evaluate(test).Accuracy!.Value, standardizedAccuracy = standardized.Evaluate(test).Accuracy!.Value;
        string accuracies = $"raw {rawAccuracy:P1}, majority class {majority:P1}, standardized {standardizedAccuracy:P1}";
        Assert.True(standardizedAccuracy >= 0.95f, accuracies);
        Assert.True(rawAccuracy < majority + 0.05f, accuracies);
    }

    private static Standardization ChannelStatisticsFor5() => new([1f, 2f, 3f, 4f, 5f], [1f, 1f, 1f, 1f, 1f]);

    /// <summary>Features around the statistics' means, at their scales, so standardized values lie around [-1, 1].</summary>
    private static Dataset RawData(NetworkArchitecture architecture, Standardization statistics, int samples, int seed)
    {
        var random = new Random(seed);
        int run = architecture.InputSize / statistics.Mean.Count;
        float[] features = [.. Enumerable.Range(0, samples * architecture.InputSize).Select(i =>
        {
            int channel = i % architecture.InputSize / run;
            return statistics.Mean[channel] + statistics.StandardDeviation[channel] * (float)(random.NextDouble() * 2 - 1);
        })];
        return architecture.IsClassifier
            ? Dataset.ForClassification(features, [.. Enumerable.Range(0, samples).Select(_ => random.Next(architecture.OutputSize))], architecture.InputSize)
            : Dataset.ForRegression(features, [.. Enumerable.Range(0, samples * architecture.OutputSize).Select(_ => (float)random.NextDouble())], architecture.InputSize, architecture.OutputSize);
    }

    /// <summary>The data set standardized by hand: (x − mean) / deviation in float, feature by feature.</summary>
    private static Dataset ByHand(Dataset raw, Standardization statistics, int valuesPerChannel)
    {
        float[] features = raw.Features.ToArray();
        for (int i = 0; i < features.Length; i++)
        {
            int channel = i % raw.FeatureCount / valuesPerChannel;
            features[i] = (features[i] - statistics.Mean[channel]) / statistics.StandardDeviation[channel];
        }

        return raw.IsClassification
            ? Dataset.ForClassification(features, raw.Labels.ToArray(), raw.FeatureCount)
            : Dataset.ForRegression(features, raw.Targets.ToArray(), raw.FeatureCount, raw.TargetCount);
    }

    /// <summary>dL/dx' / deviation, feature by feature: the raw features' gradient from the standardized ones'.</summary>
    private static float[] Divided(float[] gradient, Standardization statistics, int valuesPerChannel)
    {
        int features = statistics.Mean.Count * valuesPerChannel;
        return [.. gradient.Select((g, i) => g / statistics.StandardDeviation[i % features / valuesPerChannel])];
    }

    private static float[] Outputs(Network net, Dataset data)
    {
        var outputs = new float[data.Count * net.Architecture.OutputSize];
        net.Predict(data.Features, outputs);
        return outputs;
    }

    private static float[] InputGradient(Network net, Dataset data)
    {
        var gradient = new float[data.Features.Length];
        net.InputGradientCore(data.Features, data.Labels, data.Targets, gradient);
        return gradient;
    }

    /// <summary>A generated <c>Output</c> (an inline array of floats) as an array.</summary>
    private static float[] ToArray<T>(T output)
        where T : struct => System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(new[] { output }).ToArray();

    private static void AssertSameBits(float[] expected, float[] actual) => Assert.Equal(ModelFileTests.Bits(expected), ModelFileTests.Bits(actual));
}

[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class CancerClassifier
{
    [Input(30, Standardize = true)] public partial Layer Measurements { get; }
    [Dense(16, Activation.Relu)] public partial Layer Hidden { get; }
    [Dense(2)] public partial Layer Diagnosis { get; }
}

[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class RawCancerClassifier
{
    [Input(30)] public partial Layer Measurements { get; }
    [Dense(16, Activation.Relu)] public partial Layer Hidden { get; }
    [Dense(2)] public partial Layer Diagnosis { get; }
}
