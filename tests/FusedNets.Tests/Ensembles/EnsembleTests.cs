using FusedNets.Data;
using FusedNets.Reference;
using FusedNets.Tests.Reference;

namespace FusedNets.Tests.Ensembles;

/// <summary>Odd sizes and a declared mask, so that nothing lines up with a vector width or a block.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class EnsembleMlp
{
    [Input(11)] public partial Layer X { get; }
    [Dense(9, Activation.Relu)] public partial Layer Hidden { get; }
    [Dense(21, Activation.Tanh, Density = 0.5, MaskSeed = 4)] public partial Layer Masked { get; }
    [Dense(3)] public partial Layer Logits { get; }
}

/// <summary>Every layer kind: a convolution on the shared input, max pooling, a convolution per member, average pooling, dense.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class EnsembleConvNet
{
    [Input(2, 6, 6)] public partial Layer Image { get; }
    [Conv2D(3, 3, Activation.Relu, Padding = 1)] public partial Layer Conv1 { get; }
    [MaxPool2D(2)] public partial Layer Pool1 { get; }
    [Conv2D(4, 2, Activation.LeakyRelu)] public partial Layer Conv2 { get; }
    [AvgPool2D(2)] public partial Layer Pool2 { get; }
    [Dense(3)] public partial Layer Logits { get; }
}

/// <summary>Pooling before any weights: every member pools the same input.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class PoolFirstNet
{
    [Input(1, 4, 4)] public partial Layer Image { get; }
    [MaxPool2D(2)] public partial Layer Pool { get; }
    [Dense(6, Activation.Relu)] public partial Layer Hidden { get; }
    [Dense(2)] public partial Layer Logits { get; }
}

[Network(Loss = Loss.MeanSquaredError)]
public partial class EnsembleRegressor
{
    [Input(5)] public partial Layer X { get; }
    [Dense(8, Activation.Tanh)] public partial Layer Hidden { get; }
    [Dense(2)] public partial Layer Y { get; }
}

/// <summary>
/// An ensemble trains its members in one pass of one fused network, and each member ends as the network of its seed
/// trained alone on the same batches would; <c>Predict</c> and <c>Evaluate</c> read the members' mean and variance.
/// </summary>
public class EnsembleTests
{
    public static TheoryData<string, Backend> EveryNetworkOnEveryCpuBackend()
    {
        var data = new TheoryData<string, Backend>();
        foreach (Backend backend in new[] { Backend.Cpu, Backend.IlgpuCpu })
        {
            foreach (string network in new[] { nameof(EnsembleMlp), nameof(EnsembleConvNet), nameof(PoolFirstNet), nameof(EnsembleRegressor) })
            {
                data.Add(network, backend);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EveryNetworkOnEveryCpuBackend))]
    public void Every_member_ends_as_its_network_trained_alone_on_the_same_batches(string network, Backend backend)
    {
        switch (network)
        {
            case nameof(EnsembleMlp): AssertMembersTrainAsAlone<EnsembleMlp>(backend); break;
            case nameof(EnsembleConvNet): AssertMembersTrainAsAlone<EnsembleConvNet>(backend); break;
            case nameof(PoolFirstNet): AssertMembersTrainAsAlone<PoolFirstNet>(backend); break;
            case nameof(EnsembleRegressor): AssertMembersTrainAsAlone<EnsembleRegressor>(backend); break;
            default: throw new ArgumentOutOfRangeException(nameof(network), network, null);
        }
    }

    [Fact]
    public void On_the_cpu_each_member_is_its_network_trained_alone_bit_for_bit()
    {
        // The fused layers give every member's outputs the chains its own network computes (block by block), so the
        // CPU engine's members are not just close: they are the same floats.
        Dataset data = RandomData(EnsembleMlp.Definition, count: 41, seed: 3);
        var sgd = new Sgd(0.05f, momentum: 0.9f, weightDecay: 0.001f);
        using var ensemble = new Ensemble<EnsembleMlp>(members: 4, seed: 10, Backend.Cpu);
        ensemble.Fit(data, sgd, epochs: 3, batchSize: 8);

        for (int i = 0; i < ensemble.Members; i++)
        {
            using var alone = new EnsembleMlp(seed: 10 + i, Backend.Cpu);
            alone.Fit(data, sgd, epochs: 3, batchSize: 8);
            using EnsembleMlp member = ensemble.Member(i);
            Assert.Equal(Parameters(alone), Parameters(member));
        }
    }

    [Fact]
    public void A_step_that_diverges_for_one_member_on_the_cpu_leaves_every_member_as_it_was()
    {
        // On the CPU the members train in groups, one per core, each in its own engine: when the last member's step goes
        // non-finite, the groups whose step succeeded must drop it too (on a single core there is one group, and this
        // holds trivially).
        NetworkArchitecture architecture = EnsembleMlp.Definition;
        float[]?[] masks = [.. architecture.Layers.Select(LayerMask.ArrayOf)];
        float[][] initial = [.. Enumerable.Range(0, 4).Select(m =>
        {
            var parameters = new float[architecture.ParameterCount];
            Initialization.Initialize(architecture, masks, 10 + m, parameters);
            return parameters;
        })];
        initial[3][^1] = float.PositiveInfinity; // the last member's last logit bias: its loss is NaN
        Dataset data = RandomData(architecture, count: 8, seed: 3);
        var sgd = new Sgd(0.05f, momentum: 0.9f);

        using var engines = new EnsembleEngines(architecture, members: 4, Backend.Cpu, m => initial[m]);
        float loss = engines.TrainBatch(data.Features, data.Labels, default, data.Count, sgd.ToStep(sgd.LearningRate, 1));

        Assert.True(float.IsNaN(loss));
        for (int m = 0; m < 4; m++)
        {
            var parameters = new float[architecture.ParameterCount];
            engines.ReadMember(m, parameters);
            Assert.Equal(initial[m], parameters);
        }
    }

    [Fact]
    public void Members_start_as_the_networks_of_their_seeds()
    {
        using var ensemble = new Ensemble<EnsembleConvNet>(members: 3, seed: 7, Backend.Cpu);

        for (int i = 0; i < 3; i++)
        {
            using var fresh = new EnsembleConvNet(seed: 7 + i, Backend.Cpu);
            using EnsembleConvNet member = ensemble.Member(i);
            Assert.Equal(Parameters(fresh), Parameters(member));
            Assert.Equal(7 + i, member.Seed);
        }
    }

    [Fact]
    public void The_fused_network_has_the_members_gradients_in_the_reference()
    {
        // The layout alone, without any engine: the fused network's loss is the members' summed, and its gradient
        // holds each member's gradient where that member's parameters lie.
        NetworkArchitecture member = EnsembleConvNet.Definition;
        var layout = new EnsembleArchitecture(member, members: 3);
        var fused = new float[layout.Fused.ParameterCount];
        var references = new ReferenceNetwork[3];
        for (int m = 0; m < 3; m++)
        {
            float[] parameters = TestArchitectures.RandomParameters(member, seed: 30 + m);
            layout.Pack(m, parameters, fused);
            references[m] = new ReferenceNetwork(member, parameters, TestArchitectures.Masks(member));
        }

        TestBatch batch = TestArchitectures.RandomBatch(member, size: 5, seed: 40);
        ReferenceGradients together = new ReferenceNetwork(layout.Fused, fused, layout.Masks).Gradients(batch);

        double lossSum = 0;
        var unpacked = new float[member.ParameterCount];
        for (int m = 0; m < 3; m++)
        {
            ReferenceGradients alone = references[m].Gradients(batch);
            lossSum += alone.Loss;
            layout.Unpack(m, Array.ConvertAll(together.Parameters, value => (float)value), unpacked);
            for (int p = 0; p < unpacked.Length; p++)
            {
                Assert.Equal(alone.Parameters[p], unpacked[p], 1e-6);
            }
        }

        Assert.Equal(lossSum, together.Loss, 1e-9);
    }

    [Fact]
    public void A_classifiers_prediction_is_the_mean_and_variance_of_its_members_probabilities()
    {
        Dataset data = RandomData(EnsembleConvNet.Definition, count: 20, seed: 5);
        using var ensemble = new Ensemble<EnsembleConvNet>(members: 4, seed: 1, Backend.Cpu);
        ensemble.Fit(data, new Sgd(0.1f), epochs: 2, batchSize: 5);
        int outputs = EnsembleConvNet.OutputSize;
        var mean = new float[data.Count * outputs];
        var variance = new float[mean.Length];

        ensemble.Predict(data.Features, mean, variance);

        double[][] probabilities = [.. Enumerable.Range(0, 4).Select(i => MemberOutputs(ensemble, i, data.Features, softmax: true))];
        AssertMeanAndVariance(probabilities, mean, variance);
        for (int s = 0; s < data.Count; s++)
        {
            Assert.Equal(1.0, mean.AsSpan(s * outputs, outputs).ToArray().Sum(), 1e-6);
        }
    }

    [Fact]
    public void A_regressors_prediction_is_the_mean_and_variance_of_its_members_outputs()
    {
        Dataset data = RandomData(EnsembleRegressor.Definition, count: 15, seed: 6);
        using var ensemble = new Ensemble<EnsembleRegressor>(members: 5, seed: 2, Backend.Cpu);
        ensemble.Fit(data, new Sgd(0.05f), epochs: 2, batchSize: 4);
        var mean = new float[data.Count * EnsembleRegressor.OutputSize];
        var variance = new float[mean.Length];

        ensemble.Predict(data.Features, mean, variance);

        double[][] outputs = [.. Enumerable.Range(0, 5).Select(i => MemberOutputs(ensemble, i, data.Features, softmax: false))];
        AssertMeanAndVariance(outputs, mean, variance);
        Assert.Contains(variance, value => value > 0);
    }

    [Fact]
    public void Evaluate_scores_the_mean_probabilities()
    {
        Dataset data = RandomData(EnsembleMlp.Definition, count: 50, seed: 8);
        using var ensemble = new Ensemble<EnsembleMlp>(members: 3, seed: 4, Backend.Cpu);
        ensemble.Fit(data, new Sgd(0.1f, momentum: 0.5f), epochs: 3, batchSize: 10);
        int outputs = EnsembleMlp.OutputSize;
        var mean = new float[data.Count * outputs];
        ensemble.Predict(data.Features, mean, new float[mean.Length]);

        Evaluation evaluation = ensemble.Evaluate(data, batchSize: 7);

        double loss = 0;
        int correct = 0;
        for (int s = 0; s < data.Count; s++)
        {
            ReadOnlySpan<float> sample = mean.AsSpan(s * outputs, outputs);
            loss -= Math.Log(sample[data.Labels[s]]);
            correct += Network.ArgMax(sample) == data.Labels[s] ? 1 : 0;
        }

        Assert.Equal(loss / data.Count, evaluation.Loss, 1e-5);
        Assert.Equal((float)correct / data.Count, evaluation.Accuracy);
        Assert.Equal(data.Count, evaluation.ReliabilityDiagram!.Sum(bin => bin.Count));
        double gap = evaluation.ReliabilityDiagram!.Where(bin => bin.Count > 0).Sum(bin => bin.Count * Math.Abs(bin.Accuracy - bin.MeanConfidence)) / data.Count;
        Assert.Equal(evaluation.ExpectedCalibrationError!.Value, gap, 1e-6);
    }

    [Fact]
    public void One_member_is_its_network()
    {
        Dataset data = RandomData(EnsembleRegressor.Definition, count: 12, seed: 9);
        var sgd = new Sgd(0.05f, momentum: 0.9f);
        using var ensemble = new Ensemble<EnsembleRegressor>(members: 1, seed: 3, Backend.Cpu);
        using var alone = new EnsembleRegressor(seed: 3, Backend.Cpu);

        IReadOnlyList<EpochReport> together = ensemble.Fit(data, sgd, epochs: 2, batchSize: 5);
        IReadOnlyList<EpochReport> single = alone.Fit(data, sgd, epochs: 2, batchSize: 5);

        using EnsembleRegressor member = ensemble.Member(0);
        Assert.Equal(Parameters(alone), Parameters(member));
        Assert.Equal(single.Select(report => report.Loss), together.Select(report => report.Loss));
    }

    [Fact]
    public void Bad_arguments_are_refused_before_anything_changes()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Ensemble<EnsembleMlp>(members: 0, backend: Backend.Cpu));
        using var ensemble = new Ensemble<EnsembleMlp>(members: 2, seed: 0, Backend.Cpu);
        float[] inputs = new float[2 * EnsembleMlp.InputSize];

        Assert.Throws<ArgumentException>(() => ensemble.Predict(inputs, new float[5], new float[6]));
        Assert.Throws<ArgumentException>(() => ensemble.Predict(new float[7], new float[3], new float[3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => ensemble.Member(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => ensemble.Member(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ensemble.TrainBatch(inputs, [0, 3], new Sgd(0.1f)));
        Assert.Throws<ArgumentException>(() => ensemble.Fit(RandomData(EnsembleRegressor.Definition, 4, 1), new Sgd(0.1f), epochs: 1));

        using EnsembleMlp member = ensemble.Member(1);
        using var fresh = new EnsembleMlp(seed: 1, Backend.Cpu);
        Assert.Equal(Parameters(fresh), Parameters(member));
    }

    private static void AssertMembersTrainAsAlone<TNetwork>(Backend backend)
        where TNetwork : Network, IDeclaredNetwork<TNetwork>
    {
        // The ILGPU CPU accelerator simulates every thread of a group: fewer steps there.
        (int count, int epochs) = backend == Backend.Cpu ? (29, 2) : (12, 1);
        Dataset data = RandomData(TNetwork.Definition, count, seed: 11);
        var sgd = new Sgd(0.05f, momentum: 0.9f, weightDecay: 0.001f);
        using var ensemble = new Ensemble<TNetwork>(members: 3, seed: 20, backend);
        IReadOnlyList<EpochReport> together = ensemble.Fit(data, sgd, epochs, batchSize: 6);

        var losses = new double[together.Count];
        for (int i = 0; i < ensemble.Members; i++)
        {
            using TNetwork alone = TNetwork.Create(20 + i, backend);
            IReadOnlyList<EpochReport> reports = alone.Fit(data, sgd, epochs, batchSize: 6);
            for (int epoch = 0; epoch < reports.Count; epoch++)
            {
                losses[epoch] += reports[epoch].Loss / ensemble.Members;
            }

            using TNetwork member = ensemble.Member(i);
            float[] expected = Parameters(alone), actual = Parameters(member);
            for (int p = 0; p < expected.Length; p++)
            {
                Assert.True(Math.Abs(expected[p] - actual[p]) <= 1e-5f * (1 + Math.Abs(expected[p])), $"Member {i}, parameter {p}: {actual[p]}, alone {expected[p]}.");
            }
        }

        for (int epoch = 0; epoch < together.Count; epoch++)
        {
            Assert.Equal(losses[epoch], together[epoch].Loss, 1e-5);
        }
    }

    /// <summary>Member <paramref name="index"/>'s own outputs (or their softmax) for every sample, through its own network.</summary>
    private static double[] MemberOutputs<TNetwork>(Ensemble<TNetwork> ensemble, int index, ReadOnlySpan<float> inputs, bool softmax)
        where TNetwork : Network, IDeclaredNetwork<TNetwork>
    {
        using TNetwork member = ensemble.Member(index);
        int outputs = member.Architecture.OutputSize;
        var values = new float[inputs.Length / member.Architecture.InputSize * outputs];
        member.Predict(inputs, values);
        double[] result = Array.ConvertAll(values, value => (double)value);
        if (softmax)
        {
            for (int first = 0; first < result.Length; first += outputs)
            {
                Span<double> sample = result.AsSpan(first, outputs);
                double max = sample.ToArray().Max(), sum = 0;
                foreach (ref double value in sample)
                {
                    value = Math.Exp(value - max);
                    sum += value;
                }

                foreach (ref double value in sample)
                {
                    value /= sum;
                }
            }
        }

        return result;
    }

    private static void AssertMeanAndVariance(double[][] members, float[] mean, float[] variance)
    {
        for (int i = 0; i < mean.Length; i++)
        {
            double average = members.Average(member => member[i]);
            double spread = members.Average(member => (member[i] - average) * (member[i] - average));
            Assert.Equal(average, mean[i], 1e-5);
            Assert.Equal(spread, variance[i], 1e-6);
        }
    }

    private static float[] Parameters(Network net)
    {
        var parameters = new float[net.Architecture.ParameterCount];
        net.CopyParametersTo(parameters);
        return parameters;
    }

    private static Dataset RandomData(NetworkArchitecture architecture, int count, int seed)
    {
        var random = new Random(seed);
        float[] features = [.. Enumerable.Range(0, count * architecture.InputSize).Select(_ => random.NextSingle() * 2 - 1)];
        return architecture.IsClassifier
            ? Dataset.ForClassification(features, [.. Enumerable.Range(0, count).Select(_ => random.Next(architecture.OutputSize))], architecture.InputSize)
            : Dataset.ForRegression(features, [.. Enumerable.Range(0, count * architecture.OutputSize).Select(_ => random.NextSingle())], architecture.InputSize, architecture.OutputSize);
    }
}
