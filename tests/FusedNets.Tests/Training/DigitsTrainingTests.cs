using FusedNets.Data;
using FusedNets.Tests.Networks;

namespace FusedNets.Tests.Training;

/// <summary>The 8×8 digits as images, through LeNet's sequence of layers at a quarter of its size.</summary>
[Network]
public partial class DigitsConvNet
{
    [Input(1, 8, 8)] public partial Layer Image { get; }
    [Conv2D(8, 3, Activation.Relu, Padding = 1)] public partial Layer Conv1 { get; }
    [MaxPool2D(2)] public partial Layer Pool1 { get; }
    [Conv2D(16, 3, Activation.Relu, Padding = 1)] public partial Layer Conv2 { get; }
    [AvgPool2D(2)] public partial Layer Pool2 { get; }
    [Dense(32, Activation.Relu)] public partial Layer Hidden { get; }
    [Dense(10)] public partial Layer Logits { get; }
}

/// <summary>
/// The first path a user walks, on real data: the 8×8 digits (1797 images, the sample's embedded default)
/// train to at least 95% held-out accuracy, and a fixed seed gives the same network every time. A convolutional
/// network learns them too, with the LeNet sample's optimizer and schedule.
/// </summary>
public class DigitsTrainingTests
{
    private static readonly Lazy<Dataset> Digits = new(() => Csv.ReadClassification(
        Path.Combine(TestPaths.RepositoryRoot, "samples", "HandwrittenDigits", "Data", "digits.csv.gz"),
        hasHeader: false,
        featureScale: 1f / 16));

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void Digits_reach_95_percent_held_out_accuracy_with_the_sample_settings(int seed)
    {
        (Dataset train, Dataset test) = Digits.Value.Split(0.2, seed);
        using var network = new DigitsClassifier(seed, Backend.Cpu);

        network.Fit(train, new Sgd(0.05f, momentum: 0.9f), epochs: 30, batchSize: 32, shuffleSeed: seed);

        Evaluation evaluation = network.Evaluate(test);
        Assert.Equal(359, evaluation.Count);
        Assert.True(evaluation.Accuracy >= 0.95f, $"held-out accuracy {evaluation.Accuracy:F4} with seed {seed}");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void A_convolutional_network_reaches_95_percent_held_out_accuracy_with_the_LeNet_sample_settings(int seed)
    {
        (Dataset train, Dataset test) = Digits.Value.Split(0.2, seed);
        using var network = new DigitsConvNet(seed, Backend.Cpu);

        network.Fit(train, new Sgd(0.05f, momentum: 0.9f), epochs: 20, batchSize: 32, shuffleSeed: seed, schedule: new CosineAnnealing(maxEpochs: 20));

        float accuracy = network.Evaluate(test).Accuracy!.Value;
        Assert.True(accuracy >= 0.95f, $"held-out accuracy {accuracy:F4} with seed {seed}");
    }

    [Fact]
    public void The_same_seed_trains_the_same_network_bit_for_bit()
    {
        float[] Train()
        {
            (Dataset train, _) = Digits.Value.Split(0.2, seed: 5);
            using var network = new DigitsClassifier(seed: 5, Backend.Cpu);
            network.Fit(train, new Sgd(0.05f, momentum: 0.9f), epochs: 3, batchSize: 32, shuffleSeed: 5);
            var parameters = new float[DigitsClassifier.ParameterCount];
            network.CopyParametersTo(parameters);
            return parameters;
        }

        Assert.Equal(Train(), Train());
    }
}
