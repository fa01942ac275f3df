using FusedNets.Data;
using FusedNets.Tests.Hardening;
using FusedNets.Tests.Networks;

namespace FusedNets.Tests.Training;

/// <summary>
/// Fit's onProgress tells how far an epoch has come: the samples trained so far and their mean loss, at most
/// every ProgressInterval and always at the end of the epoch, without changing what is trained.
/// </summary>
public class ProgressTests
{
    // 23 samples in batches of 5: four full batches and one of 3.
    private static Dataset Data()
    {
        var random = new Random(9);
        return Dataset.ForClassification(
            [.. Enumerable.Range(0, 23 * 37).Select(_ => (float)random.NextDouble() * 2 - 1)], [.. Enumerable.Range(0, 23).Select(_ => random.Next(5))], 37);
    }

    private static readonly Sgd Sgd = new(0.1f, momentum: 0.9f);

    [Fact]
    public void With_no_interval_every_batch_is_reported_and_the_last_report_of_an_epoch_matches_its_EpochReport()
    {
        using var network = new TiledClassifier(seed: 1, Backend.Cpu) { ProgressInterval = TimeSpan.Zero };
        var progress = new List<TrainingProgress>();

        IReadOnlyList<EpochReport> reports = network.Fit(Data(), Sgd, epochs: 2, batchSize: 5, firstEpoch: 4, onProgress: progress.Add);

        Assert.Equal(
            [(4, 5), (4, 10), (4, 15), (4, 20), (4, 23), (5, 5), (5, 10), (5, 15), (5, 20), (5, 23)],
            progress.Select(p => (p.Epoch, p.Samples)));
        Assert.All(progress, p => Assert.Equal((5, 23), (p.Epochs, p.EpochSamples)));
        Assert.Equal(reports.Select(report => report.Loss), progress.Where(p => p.Samples == 23).Select(p => p.Loss));
        Assert.All(progress.Chunk(5), epoch => Assert.True(epoch.Zip(epoch.Skip(1)).All(pair => pair.First.Elapsed <= pair.Second.Elapsed)));
    }

    [Fact]
    public void The_loss_so_far_is_the_mean_over_the_samples_trained_so_far()
    {
        Dataset data = Data();
        using var network = new TiledClassifier(seed: 1, Backend.Cpu) { ProgressInterval = TimeSpan.Zero };
        var progress = new List<TrainingProgress>();
        network.Fit(data, Sgd, epochs: 1, batchSize: 5, shuffleSeed: 2, onProgress: progress.Add);

        // The same batches, one TrainBatch each, in the order Fit visits them.
        var order = new int[data.Count];
        Network.ShuffledOrder(order, shuffleSeed: 2, epoch: 1);
        using var stepped = new TiledClassifier(seed: 1, Backend.Cpu);
        double lossSum = 0;
        var expected = new List<float>();
        for (int first = 0; first < data.Count; first += 5)
        {
            Dataset batch = data.Select(order.AsSpan(first, Math.Min(5, data.Count - first)));
            lossSum += (double)stepped.TrainBatch(batch.Features, batch.Labels, Sgd) * batch.Count;
            expected.Add((float)(lossSum / (first + batch.Count)));
        }

        Assert.Equal(expected, progress.Select(p => p.Loss));
    }

    [Fact]
    public void With_the_default_interval_each_epoch_reports_at_least_its_end()
    {
        using var network = new TiledClassifier(seed: 1, Backend.Cpu);
        var progress = new List<TrainingProgress>();

        network.Fit(Data(), Sgd, epochs: 3, batchSize: 5, onProgress: progress.Add);

        Assert.Equal([1, 2, 3], progress.Where(p => p.Samples == p.EpochSamples).Select(p => p.Epoch));
        Assert.All(progress, p => Assert.True(p.Samples % 5 == 0 || p.Samples == 23, $"{p.Samples} samples is not the end of a batch"));
    }

    [Fact]
    public void An_engine_that_trains_a_whole_epoch_in_one_call_reports_once_per_epoch()
    {
        using var network = new TiledClassifier(seed: 1, Backend.IlgpuCpu) { ProgressInterval = TimeSpan.Zero };
        var progress = new List<TrainingProgress>();

        IReadOnlyList<EpochReport> reports = network.Fit(Data(), Sgd, epochs: 2, batchSize: 5, onProgress: progress.Add);

        Assert.Equal([(1, 23), (2, 23)], progress.Select(p => (p.Epoch, p.Samples)));
        Assert.Equal(reports.Select(report => report.Loss), progress.Select(p => p.Loss));
    }

    [Fact]
    public void Reporting_progress_changes_nothing_in_training()
    {
        using var reported = new TiledClassifier(seed: 1, Backend.Cpu) { ProgressInterval = TimeSpan.Zero };
        using var plain = new TiledClassifier(seed: 1, Backend.Cpu);

        reported.Fit(Data(), Sgd, epochs: 2, batchSize: 5, onProgress: _ => { });
        plain.Fit(Data(), Sgd, epochs: 2, batchSize: 5);

        Assert.Equal(BadArgumentTests.State(plain), BadArgumentTests.State(reported));
    }
}
