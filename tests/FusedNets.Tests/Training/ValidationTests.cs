using FusedNets.Data;
using FusedNets.Tests.Hardening;
using FusedNets.Tests.Networks;

namespace FusedNets.Tests.Training;

/// <summary>
/// Fit evaluates a validation set after every epoch, and with a patience stops once its loss has not improved
/// for that many epochs, leaving the network exactly as it was after its best epoch, momentum included.
/// </summary>
public class ValidationTests
{
    // 60 training digits are few enough to overfit within a few epochs: on 300 others the validation loss falls,
    // then rises while the training loss keeps falling.
    private static readonly Lazy<(Dataset Train, Dataset Validation)> Digits = new(() =>
    {
        Dataset digits = Csv.ReadClassification(
            Path.Combine(TestPaths.RepositoryRoot, "samples", "HandwrittenDigits", "Data", "digits.csv.gz"), featureScale: 1f / 16);
        return (digits.Select([.. Enumerable.Range(0, 60)]), digits.Select([.. Enumerable.Range(1000, 300)]));
    });

    private static readonly Sgd Sgd = new(0.1f, momentum: 0.9f);

    public static TheoryData<Backend> CpuBackends() => [Backend.Cpu, Backend.IlgpuCpu];

    private static IReadOnlyList<EpochReport> FitDigits(Network network, int epochs, int? patience = null, bool validate = true) =>
        network.Fit(Digits.Value.Train, Sgd, epochs, batchSize: 10, shuffleSeed: 3, validation: validate ? Digits.Value.Validation : null, patience: patience);

    [Fact]
    public void When_the_validation_loss_rises_training_stops_with_the_parameters_and_momentum_of_the_best_epoch()
    {
        const int Patience = 3;
        const Backend backend = Backend.Cpu;
        using var stopped = new DigitsClassifier(seed: 1, backend);
        IReadOnlyList<EpochReport> reports = FitDigits(stopped, epochs: 40, Patience);

        float[] losses = [.. reports.Select(report => report.ValidationLoss!.Value)];
        int best = Array.IndexOf(losses, losses.Min()) + 1;
        Assert.True(best > 1, $"the validation loss should fall first: {string.Join(", ", losses)}");
        Assert.Equal(best + Patience, reports.Count);
        Assert.All(losses[best..], loss => Assert.True(loss > losses[best - 1]));

        using var trainedToBest = new DigitsClassifier(seed: 1, backend);
        FitDigits(trainedToBest, epochs: best, validate: false);
        using var trainedToLast = new DigitsClassifier(seed: 1, backend);
        FitDigits(trainedToLast, epochs: reports.Count, validate: false);
        Assert.Equal(BadArgumentTests.State(trainedToBest), BadArgumentTests.State(stopped));
        Assert.NotEqual(BadArgumentTests.State(trainedToLast), BadArgumentTests.State(stopped));
        Assert.Equal(losses[best - 1], stopped.Evaluate(Digits.Value.Validation).Loss);
    }

    [Theory]
    [MemberData(nameof(CpuBackends))]
    public void Early_stopping_restores_the_best_epoch_on_every_kind_of_engine(Backend backend)
    {
        // Validation labels one class off the training labels: the better the network learns the training set, the
        // worse it does on this one, so the first epoch is the best. IlgpuCpu trains each epoch in one engine call.
        var random = new Random(7);
        int[] labels = [.. Enumerable.Range(0, 30).Select(i => i % 3)];
        float[] features = [.. Enumerable.Range(0, 30 * 12).Select(i => (i % 12 == labels[i / 12] ? 1 : 0) + 0.1f * (float)random.NextDouble())];
        Dataset train = Dataset.ForClassification(features, labels, 12);
        Dataset validation = Dataset.ForClassification(features, [.. labels.Select(label => (label + 1) % 3)], 12);
        var sgd = new Sgd(0.5f, momentum: 0.9f);
        using var stopped = new MaskedClassifier(seed: 1, backend);

        IReadOnlyList<EpochReport> reports = stopped.Fit(train, sgd, epochs: 10, batchSize: 8, validation: validation, patience: 2);

        Assert.Equal(3, reports.Count);
        Assert.True(reports[1].ValidationLoss > reports[0].ValidationLoss && reports[2].ValidationLoss > reports[0].ValidationLoss);
        using var trainedOneEpoch = new MaskedClassifier(seed: 1, backend);
        trainedOneEpoch.Fit(train, sgd, epochs: 1, batchSize: 8);
        Assert.Equal(BadArgumentTests.State(trainedOneEpoch), BadArgumentTests.State(stopped));
    }

    [Fact]
    public void A_run_that_ends_before_its_patience_runs_out_also_returns_to_its_best_epoch()
    {
        using var network = new DigitsClassifier(seed: 1, Backend.Cpu);
        IReadOnlyList<EpochReport> reports = FitDigits(network, epochs: 40, patience: 3);
        int best = reports.MinBy(report => report.ValidationLoss)!.Epoch;

        using var ended = new DigitsClassifier(seed: 1, Backend.Cpu);
        IReadOnlyList<EpochReport> endedReports = FitDigits(ended, epochs: best + 2, patience: 100);

        Assert.Equal(best + 2, endedReports.Count);
        using var trainedToBest = new DigitsClassifier(seed: 1, Backend.Cpu);
        FitDigits(trainedToBest, epochs: best, validate: false);
        Assert.Equal(BadArgumentTests.State(trainedToBest), BadArgumentTests.State(ended));
    }

    [Fact]
    public void Each_report_carries_the_validation_loss_and_accuracy_after_its_epoch()
    {
        using var network = new DigitsClassifier(seed: 2, Backend.Cpu);
        var evaluatedAfterEachEpoch = new List<Evaluation>();

        IReadOnlyList<EpochReport> reports = network.Fit(
            Digits.Value.Train, Sgd, epochs: 4, batchSize: 10, validation: Digits.Value.Validation,
            onEpoch: _ => evaluatedAfterEachEpoch.Add(network.Evaluate(Digits.Value.Validation)));

        Assert.Equal(evaluatedAfterEachEpoch.Select(evaluation => (float?)evaluation.Loss), reports.Select(report => report.ValidationLoss));
        Assert.Equal(evaluatedAfterEachEpoch.Select(evaluation => evaluation.Accuracy), reports.Select(report => report.ValidationAccuracy));
    }

    [Fact]
    public void Validating_without_a_patience_changes_nothing_in_training()
    {
        using var validated = new DigitsClassifier(seed: 1, Backend.Cpu);
        using var plain = new DigitsClassifier(seed: 1, Backend.Cpu);

        IReadOnlyList<EpochReport> reports = FitDigits(validated, epochs: 8);
        IReadOnlyList<EpochReport> plainReports = FitDigits(plain, epochs: 8, validate: false);

        Assert.Equal(8, reports.Count);
        Assert.Equal(BadArgumentTests.State(plain), BadArgumentTests.State(validated));
        Assert.All(plainReports, report => Assert.Null(report.ValidationLoss));
        Assert.All(plainReports, report => Assert.Null(report.ValidationAccuracy));
    }

    [Fact]
    public void A_regressor_reports_a_validation_loss_and_no_accuracy()
    {
        var random = new Random(1);
        Dataset Data(int samples) => Dataset.ForRegression(
            [.. Enumerable.Range(0, samples * 3).Select(_ => (float)random.NextDouble())], [.. Enumerable.Range(0, samples * 2).Select(_ => (float)random.NextDouble())], 3, 2);
        using var network = new TinyRegressor(seed: 1, Backend.Cpu);

        EpochReport report = network.Fit(Data(20), new Sgd(0.1f), epochs: 1, validation: Data(7))[0];

        Assert.NotNull(report.ValidationLoss);
        Assert.Null(report.ValidationAccuracy);
    }
}
