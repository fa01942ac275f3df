using FusedNets.Data;
using FusedNets.Tests.Networks;

namespace FusedNets.Tests.Hardening;

/// <summary>A small classifier with nothing that saturates: a huge learning rate overflows it within two steps.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class DivergingClassifier
{
    [Input(6)] public partial Layer Features { get; }
    [Dense(16, Activation.Relu)] public partial Layer Hidden { get; }
    [Dense(3)] public partial Layer Logits { get; }
}

/// <summary>
/// A step that goes non-finite is dropped and reported: the network keeps the parameters and momentum of the
/// last good step, bit for bit, and training can go on from there as if the bad step had never been tried.
/// </summary>
public class DivergenceTests
{
    public static TheoryData<Backend> Backends() => [Backend.Cpu, Backend.IlgpuCpu];

    [Theory]
    [MemberData(nameof(Backends))]
    public void A_step_with_an_infinite_loss_throws_and_leaves_the_network_unchanged(Backend backend)
    {
        using var net = new TinyRegressor(seed: 3, backend);
        net.TrainBatch([0.1f, 0.2f, 0.3f], [0.5f, 0.5f], new Sgd(0.1f, momentum: 0.9f));
        byte[] before = BadArgumentTests.State(net);

        // A sigmoid output against a target of 1e30: the squared error overflows, though the gradient would not.
        var error = Assert.Throws<TrainingDivergedException>(() => net.TrainBatch([0.1f, 0.2f, 0.3f], [1e30f, 0f], new Sgd(0.1f, momentum: 0.9f)));

        Assert.Equal(float.PositiveInfinity, error.Loss);
        Assert.Null(error.Epoch);
        Assert.Null(error.Batch);
        Assert.Contains("the batch's loss was Infinity", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, BadArgumentTests.State(net));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void A_step_whose_update_overflows_throws_and_leaves_the_network_unchanged(Backend backend)
    {
        using var net = new TinyRegressor(seed: 3, backend);
        net.TrainBatch([0.1f, 0.2f, 0.3f], [0.5f, 0.5f], new Sgd(0.1f, momentum: 0.9f));
        byte[] before = BadArgumentTests.State(net);

        // The loss (about 1e36) is finite; a learning rate of 1e30 times gradients near 1e17 is not.
        var error = Assert.Throws<TrainingDivergedException>(() => net.TrainBatch([0.1f, 0.2f, 0.3f], [1e18f, -1e18f], new Sgd(1e30f, momentum: 0.9f)));

        Assert.True(float.IsFinite(error.Loss), $"loss {error.Loss}");
        Assert.Contains("would have made a parameter or its momentum infinite or NaN", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, BadArgumentTests.State(net));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void A_conv_net_step_whose_update_overflows_throws_and_leaves_every_layer_unchanged(Backend backend)
    {
        using var net = new ConvRegressor(seed: 3, backend);
        float[] image = [.. Enumerable.Range(0, ConvRegressor.InputSize).Select(i => MathF.Sin(i) * 0.5f)];
        net.TrainBatch(image, [0.5f, -0.5f, 0.25f], new Sgd(0.1f, momentum: 0.9f));
        byte[] before = BadArgumentTests.State(net);

        // A finite loss (about 1e36) whose gradients near 1e18, times a learning rate of 1e30, are not.
        var error = Assert.Throws<TrainingDivergedException>(() => net.TrainBatch(image, [1e18f, -1e18f, 1e18f], new Sgd(1e30f, momentum: 0.9f)));

        Assert.True(float.IsFinite(error.Loss), $"loss {error.Loss}");
        Assert.Equal(before, BadArgumentTests.State(net));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void Fit_stops_at_the_diverged_batch_with_the_weights_of_the_last_good_epoch(Backend backend)
    {
        Dataset data = RandomData(samples: 20);
        var huge = new Sgd(1e30f, momentum: 0.5f);
        using var net = new DivergingClassifier(seed: 5, backend);
        var seen = new List<EpochReport>();

        // One batch per epoch, so the last good state is that of a fresh network fitted for the epochs before.
        var error = Assert.Throws<TrainingDivergedException>(() => net.Fit(data, huge, epochs: 10, batchSize: data.Count, onEpoch: seen.Add));

        Assert.NotNull(error.Epoch);
        Assert.Equal(1, error.Batch);
        Assert.Contains($"epoch {error.Epoch}, batch 1", error.Message, StringComparison.Ordinal);
        Assert.Equal(error.Epoch - 1, seen.Count);
        using var lastGood = new DivergingClassifier(seed: 5, backend);
        if (error.Epoch > 1)
        {
            lastGood.Fit(data, huge, epochs: error.Epoch.Value - 1, batchSize: data.Count);
        }

        Assert.Equal(BadArgumentTests.State(lastGood), BadArgumentTests.State(net));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void Fit_with_early_stopping_that_diverges_keeps_the_last_good_step_not_the_best_epoch(Backend backend)
    {
        // Validation labels one class off the training labels, so an early epoch validates best; from the third
        // epoch on the rate is 1e30, and training diverges within two steps. One batch per epoch: the last good
        // state is that of a network fitted for the epochs before the failed one.
        Dataset data = RandomData(samples: 20);
        Dataset shifted = Dataset.ForClassification(data.Features.ToArray(), [.. data.Labels.ToArray().Select(label => (label + 1) % 3)], 6);
        var sgd = new Sgd(0.5f, momentum: 0.5f);
        var schedule = new LinearWarmup(epochs: 1).Then(new RateOf(1e30f), milestone: 2);
        using var net = new DivergingClassifier(seed: 5, backend);
        var seen = new List<EpochReport>();

        var error = Assert.Throws<TrainingDivergedException>(() =>
            net.Fit(data, sgd, epochs: 10, batchSize: data.Count, onEpoch: seen.Add, schedule: schedule, validation: shifted, patience: 5));

        int lastGoodEpoch = error.Epoch!.Value - 1;
        Assert.Equal(lastGoodEpoch, seen.Count);
        Assert.True(lastGoodEpoch >= 2 && seen[0].ValidationLoss < seen[1].ValidationLoss, "the first epoch should validate best");
        using var lastGood = new DivergingClassifier(seed: 5, backend);
        lastGood.Fit(data, sgd, epochs: lastGoodEpoch, batchSize: data.Count, schedule: schedule);
        Assert.Equal(BadArgumentTests.State(lastGood), BadArgumentTests.State(net));
    }

    /// <summary>One rate for every epoch, however large.</summary>
    private sealed class RateOf(float rate) : LearningRateSchedule
    {
        public override float LearningRateAt(int epoch, float initialLearningRate) => rate;
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void Training_after_a_dropped_step_continues_as_if_it_had_never_been_tried(Backend backend)
    {
        Dataset data = RandomData(samples: 8);
        float[] inputs = data.Features.ToArray();
        int[] labels = data.Labels.ToArray();
        var sgd = new Sgd(0.05f, momentum: 0.9f, nesterov: true, weightDecay: 0.01f);
        using var interrupted = new DivergingClassifier(seed: 5, backend);
        using var smooth = new DivergingClassifier(seed: 5, backend);

        interrupted.TrainBatch(inputs, labels, sgd);
        float[] huge = [.. inputs.Select(x => x * 1e30f)];
        Assert.Throws<TrainingDivergedException>(() => interrupted.TrainBatch(huge, labels, new Sgd(1e10f, momentum: 0.9f)));
        interrupted.TrainBatch(inputs, labels, sgd);
        interrupted.TrainBatch(inputs, labels, sgd);
        smooth.TrainBatch(inputs, labels, sgd);
        smooth.TrainBatch(inputs, labels, sgd);
        smooth.TrainBatch(inputs, labels, sgd);

        Assert.Equal(BadArgumentTests.State(smooth), BadArgumentTests.State(interrupted));
    }

    private static Dataset RandomData(int samples)
    {
        var random = new Random(4);
        float[] features = [.. Enumerable.Range(0, samples * 6).Select(_ => (float)random.NextDouble() * 2 - 1)];
        int[] labels = [.. Enumerable.Range(0, samples).Select(i => i % 3)];
        return Dataset.ForClassification(features, labels, 6);
    }
}
