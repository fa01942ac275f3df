using FusedNets;
using Spectre.Console;
using Spectre.Console.Rendering;

/// <summary>One epoch as the sample reports it: <see cref="EpochReport"/>'s numbers and the test accuracy after it.</summary>
internal readonly record struct EpochResult(int Epoch, int Epochs, float Loss, float TestAccuracy, double SamplesPerSecond);

/// <summary>
/// What the training loop tells the console: how far an epoch has come (null when the console shows no progress
/// within an epoch, so Fit does not even call back) and each finished epoch.
/// </summary>
internal sealed record TrainingDisplay(Action<TrainingProgress>? OnProgress, Action<EpochResult> OnEpoch);

/// <summary>
/// Where the sample's progress and results go. A terminal gets a live progress bar and tables; a pipe, a file
/// or a CI log gets plain lines, one per epoch, that a script can read.
/// </summary>
internal abstract class TrainingConsole
{
    public static TrainingConsole Create() =>
        Console.IsOutputRedirected || Environment.GetEnvironmentVariable("CI") is not null ? new PlainConsole() : new TerminalConsole();

    /// <summary>A line of context: what is trained, on what, and what was saved.</summary>
    public abstract void Line(string text);

    /// <summary>
    /// Runs <paramref name="train"/>, showing its progress through the display it is given; each epoch covers
    /// <paramref name="samplesPerEpoch"/> samples.
    /// </summary>
    public abstract void ShowTraining(int epochs, int samplesPerEpoch, Action<TrainingDisplay> train);

    /// <summary>The epochs trained (none for a loaded model that is only evaluated), then the test result.</summary>
    public abstract void Summary(IReadOnlyList<EpochResult> epochs, Evaluation test);

    protected static string TestResult(Evaluation test)
    {
        float accuracy = test.Accuracy ?? 0;
        return $"test: loss {test.Loss:F4}, accuracy {accuracy:F4} ({Math.Round(accuracy * test.Count):N0} of {test.Count:N0} right)";
    }
}

/// <summary>Plain text: one key=value line per epoch.</summary>
internal sealed class PlainConsole : TrainingConsole
{
    public override void Line(string text) => Console.WriteLine(text);

    public override void ShowTraining(int epochs, int samplesPerEpoch, Action<TrainingDisplay> train) =>
        train(new TrainingDisplay(OnProgress: null, OnEpoch: epoch => Console.WriteLine(
            $"epoch={epoch.Epoch}/{epoch.Epochs} loss={epoch.Loss:F4} test_acc={epoch.TestAccuracy:F4} train_samples_per_s={epoch.SamplesPerSecond:F0}")));

    // Each epoch is already on its own line.
    public override void Summary(IReadOnlyList<EpochResult> epochs, Evaluation test) => Console.WriteLine(TestResult(test));
}

/// <summary>A live progress bar while training, then a table of the epochs and the test set's confusion matrix.</summary>
internal sealed class TerminalConsole : TrainingConsole
{
    public override void Line(string text) => AnsiConsole.MarkupLineInterpolated($"[grey]{text}[/]");

    public override void ShowTraining(int epochs, int samplesPerEpoch, Action<TrainingDisplay> train) =>
        AnsiConsole.Progress()
            .Columns(
                new TaskDescriptionColumn(),
                new ProgressBarColumn(),
                new PercentageColumn(),
                new TrainingRateColumn(),
                new RemainingTimeColumn(),
                new ElapsedTimeColumn())
            .Start(context =>
            {
                // The bar counts samples, so Spectre's time remaining follows the samples still to train. Fit
                // reports within an epoch about every 100 ms: the bar moves during long epochs too.
                ProgressTask task = context.AddTask($"epoch 1/{epochs}", maxValue: (double)epochs * samplesPerEpoch);
                train(new TrainingDisplay(
                    OnProgress: progress =>
                    {
                        task.Tag = progress.Samples / Math.Max(progress.Elapsed.TotalSeconds, 1e-9);
                        task.Description = $"epoch {progress.Epoch}/{progress.Epochs}  loss {progress.Loss:F4}";
                        task.Value = (double)(progress.Epoch - 1) * samplesPerEpoch + progress.Samples;
                    },
                    OnEpoch: epoch =>
                    {
                        task.Tag = epoch.SamplesPerSecond;
                        task.Description = $"epoch {epoch.Epoch}/{epoch.Epochs}  loss {epoch.Loss:F4}  test {epoch.TestAccuracy:F4}";
                    }));
            });

    public override void Summary(IReadOnlyList<EpochResult> epochs, Evaluation test)
    {
        if (epochs.Count > 0)
        {
            var table = new Table()
                .Border(TableBorder.Rounded)
                .AddColumn(new TableColumn("Epoch").RightAligned())
                .AddColumn(new TableColumn("Loss").RightAligned())
                .AddColumn(new TableColumn("Test accuracy").RightAligned())
                .AddColumn(new TableColumn("Samples/s").RightAligned());
            foreach (EpochResult epoch in epochs)
            {
                table.AddRow($"{epoch.Epoch}", $"{epoch.Loss:F4}", $"{epoch.TestAccuracy:F4}", $"{epoch.SamplesPerSecond:N0}");
            }

            AnsiConsole.Write(table);
        }

        if (test.ConfusionMatrix is { } matrix)
        {
            AnsiConsole.Write(ConfusionTable(matrix, test.ExpectedCalibrationError ?? 0));
        }

        AnsiConsole.MarkupLineInterpolated($"[bold green]{TestResult(test)}[/]");
    }

    /// <summary>
    /// The test set's confusion matrix, a row per true digit and a column per predicted one, with the right
    /// answers on the diagonal; under each column, that digit's precision, recall and F1. Narrow columns keep it
    /// within 80 characters.
    /// </summary>
    private static Table ConfusionTable(ConfusionMatrix matrix, float calibrationError)
    {
        var table = new Table()
            .Border(TableBorder.Rounded)
            .Title("test set: true digit (rows), predicted digit (columns)")
            .Caption($"expected calibration error {calibrationError:F4}")
            .AddColumn(new TableColumn("").RightAligned());
        for (int digit = 0; digit < matrix.ClassCount; digit++)
        {
            table.AddColumn(new TableColumn($"[bold]{digit}[/]").RightAligned().PadLeft(0));
        }

        for (int actual = 0; actual < matrix.ClassCount; actual++)
        {
            var row = new List<IRenderable> { new Markup($"[bold]{actual}[/]") };
            for (int predicted = 0; predicted < matrix.ClassCount; predicted++)
            {
                int count = matrix[actual, predicted];
                string style = predicted == actual ? "green" : count > 0 ? "red" : "grey";
                row.Add(new Markup($"[{style}]{count}[/]"));
            }

            table.AddRow(row);
        }

        table.AddEmptyRow();
        AddMetricRow("precision", matrix.Precision);
        AddMetricRow("recall", matrix.Recall);
        AddMetricRow("F1", matrix.F1);
        return table;

        void AddMetricRow(string name, Func<int, float> metric) =>
            table.AddRow([new Text(name), .. Enumerable.Range(0, matrix.ClassCount).Select(digit => new Text($"{metric(digit):F2}"))]);
    }

    /// <summary>The training throughput, live within an epoch and as <see cref="Network.Fit"/> measured it after one (test evaluation left out).</summary>
    private sealed class TrainingRateColumn : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            task.Tag is double samplesPerSecond ? new Markup($"[blue]{samplesPerSecond:N0} samples/s[/]") : new Text("");
    }
}
