using FusedNets.Data;
using FusedNets.Tests.Hardening;
using FusedNets.Tests.Networks;
using FusedNets.Tests.Persistence;

namespace FusedNets.Tests.Training;

/// <summary>
/// Adam's state in a network: its step count t goes on across Fit calls and is never spent on a dropped step; Adam and
/// AdamW share it; SGD and Adam each start their own afresh; early stopping puts back the moments and t of the best epoch.
/// </summary>
public class AdamTrainingTests
{
    private const int BatchSize = 8, ShuffleSeed = 11;

    public static TheoryData<Backend> CpuBackends() => [Backend.Cpu, Backend.IlgpuCpu];

    private static readonly Lazy<Dataset> Data = new(() =>
    {
        var random = new Random(3);
        float[] features = [.. Enumerable.Range(0, 50 * 12).Select(_ => (float)random.NextDouble() * 2 - 1)];
        int[] labels = [.. Enumerable.Range(0, 50).Select(_ => random.Next(3))];
        return Dataset.ForClassification(features, labels, 12);
    });

    private static void Fit(Network network, Optimizer optimizer, int epochs, int firstEpoch = 1) =>
        network.Fit(Data.Value, optimizer, epochs, BatchSize, ShuffleSeed, firstEpoch: firstEpoch);

    [Theory]
    [MemberData(nameof(CpuBackends))]
    public void Adams_step_count_goes_on_from_one_Fit_call_to_the_next(Backend backend)
    {
        var adam = new Adam(0.01f, weightDecay: 0.01f);
        using var oneGo = new MaskedClassifier(seed: 1, backend);
        Fit(oneGo, adam, epochs: 3);

        using var twoCalls = new MaskedClassifier(seed: 1, backend);
        Fit(twoCalls, adam, epochs: 2);
        Fit(twoCalls, adam, epochs: 1, firstEpoch: 3);

        Assert.Equal(BadArgumentTests.State(oneGo), BadArgumentTests.State(twoCalls));
        Assert.Equal("21", Metadata(oneGo)["fusednets.optimizer.step"]); // 3 epochs of 7 batches
    }

    [Fact]
    public void AdamW_goes_on_from_Adams_moments_and_step_count()
    {
        // Without weight decay the two rules are the same: only a state carried over makes the runs equal.
        using var adamThenAdamW = new MaskedClassifier(seed: 1, Backend.Cpu);
        Fit(adamThenAdamW, new Adam(0.01f), epochs: 1);
        Fit(adamThenAdamW, new AdamW(0.01f, weightDecay: 0), epochs: 1, firstEpoch: 2);

        using var adam = new MaskedClassifier(seed: 1, Backend.Cpu);
        Fit(adam, new Adam(0.01f), epochs: 2);

        Assert.Equal(BadArgumentTests.State(adam), BadArgumentTests.State(adamThenAdamW));
    }

    [Theory]
    [MemberData(nameof(CpuBackends))]
    public void Switching_between_Sgd_and_Adam_starts_the_new_optimizers_state_afresh(Backend backend)
    {
        var sgd = new Sgd(0.05f, momentum: 0.9f);
        var adam = new Adam(0.01f);
        foreach ((Optimizer first, Optimizer second) in new (Optimizer, Optimizer)[] { (sgd, adam), (adam, sgd) })
        {
            using var switched = new MaskedClassifier(seed: 1, backend);
            Fit(switched, first, epochs: 1);
            Fit(switched, second, epochs: 1, firstEpoch: 2);

            using var fresh = new MaskedClassifier(seed: 2, backend);
            using (var trainedOnce = new MaskedClassifier(seed: 1, backend))
            {
                Fit(trainedOnce, first, epochs: 1);
                fresh.SetParameters(ModelFileTests.Parameters(trainedOnce));
            }

            Fit(fresh, second, epochs: 1, firstEpoch: 2);

            Assert.Equal(ModelFileTests.Bits(ModelFileTests.Parameters(fresh)), ModelFileTests.Bits(ModelFileTests.Parameters(switched)));
        }
    }

    [Theory]
    [MemberData(nameof(CpuBackends))]
    public void An_Adam_step_whose_second_moment_overflows_is_dropped_and_never_counted(Backend backend)
    {
        // ReLUs only, nothing that saturates: inputs near 1e30 give finite gradients near 1e30, whose squares overflow.
        // v is then infinite, though m / √v is 0 and every weight stays finite: only the moments show the divergence.
        var adam = new Adam(0.01f);
        var random = new Random(4);
        float[] inputs = [.. Enumerable.Range(0, BatchSize * 6).Select(_ => (float)random.NextDouble() * 2 - 1)];
        int[] labels = [.. Enumerable.Range(0, BatchSize).Select(i => i % 3)];
        float[] huge = [.. inputs.Select(x => x * 1e30f)];
        using var interrupted = new DivergingClassifier(seed: 5, backend);
        using var smooth = new DivergingClassifier(seed: 5, backend);

        interrupted.TrainBatch(inputs, labels, adam);
        interrupted.TrainBatch(inputs, labels, adam);
        byte[] before = BadArgumentTests.State(interrupted);
        var error = Assert.Throws<TrainingDivergedException>(() => interrupted.TrainBatch(huge, labels, adam));
        Assert.True(float.IsFinite(error.Loss), $"loss {error.Loss}");
        Assert.Equal(before, BadArgumentTests.State(interrupted));
        interrupted.TrainBatch(inputs, labels, adam);
        smooth.TrainBatch(inputs, labels, adam);
        smooth.TrainBatch(inputs, labels, adam);
        smooth.TrainBatch(inputs, labels, adam);

        Assert.Equal(BadArgumentTests.State(smooth), BadArgumentTests.State(interrupted));
    }

    [Theory]
    [MemberData(nameof(CpuBackends))]
    public void A_first_Adam_step_that_diverges_leaves_the_SGD_momentum_in_place(Backend backend)
    {
        Dataset data = Data.Value;
        float[] huge = [.. data.Features[..(BatchSize * 12)].ToArray().Select(x => x * 1e30f)];
        using var net = new MaskedClassifier(seed: 5, backend);
        Fit(net, new Sgd(0.05f, momentum: 0.9f), epochs: 1);
        byte[] before = BadArgumentTests.State(net);

        Assert.Throws<TrainingDivergedException>(() => net.TrainBatch(huge, data.Labels[..BatchSize], new Adam()));
        Assert.Equal(before, BadArgumentTests.State(net));

        // The same through Fit, which IlgpuCpu trains an epoch at a time.
        Dataset hugeData = Dataset.ForClassification(huge, data.Labels[..BatchSize].ToArray(), 12);
        Assert.Throws<TrainingDivergedException>(() => net.Fit(hugeData, new Adam(), epochs: 1));
        Assert.Equal(before, BadArgumentTests.State(net));
    }

    [Fact]
    public void Early_stopping_puts_back_the_moments_and_step_count_of_the_best_epoch()
    {
        // Validation labels one class off the training labels: the better the network learns, the worse it validates.
        Dataset data = Data.Value;
        Dataset shifted = Dataset.ForClassification(data.Features.ToArray(), [.. data.Labels.ToArray().Select(label => (label + 1) % 3)], 12);
        var adam = new Adam(0.01f);
        using var stopped = new MaskedClassifier(seed: 1, Backend.Cpu);
        IReadOnlyList<EpochReport> reports = stopped.Fit(data, adam, epochs: 10, BatchSize, ShuffleSeed, validation: shifted, patience: 2);

        int best = reports.MinBy(report => report.ValidationLoss)!.Epoch;
        Assert.True(best < reports[^1].Epoch, "training should have gone past its best epoch");
        using var trainedToBest = new MaskedClassifier(seed: 1, Backend.Cpu);
        Fit(trainedToBest, adam, epochs: best);
        Assert.Equal(BadArgumentTests.State(trainedToBest), BadArgumentTests.State(stopped));
    }

    private static IReadOnlyDictionary<string, string> Metadata(Network network) =>
        FusedNets.Persistence.SafeTensors.Read(new MemoryStream(BadArgumentTests.State(network))).Metadata;
}
