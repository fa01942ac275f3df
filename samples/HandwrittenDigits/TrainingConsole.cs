using FusedNets;
using Spectre.Console;
using Spectre.Console.Rendering;

/// <summary>One epoch as the sample reports it: <see cref="EpochReport"/>'s numbers and the test accuracy after it.</summary>
internal readonly record struct EpochResult(int Epoch, int Epochs, float Loss, float TestAccuracy, double SamplesPerSecond);

/// <summary>
/// Where the sample's progress and results go. A terminal gets a live progress bar and a table; a pipe, a file
/// or a CI log gets plain lines, one per epoch, that a script can read.
/// </summary>
internal abstract class TrainingConsole
{
    public static TrainingConsole Create() =>
        Console.IsOutputRedirected || Environment.GetEnvironmentVariable("CI") is not null ? new PlainConsole() : new TerminalConsole();

    /// <summary>A line of context: what is trained, on what, and what was saved.</summary>
    public abstract void Line(string text);

    /// <summary>
    /// Runs <paramref name="train"/>, showing its progress: <paramref name="train"/> calls the action it is given
    /// once per epoch, and each epoch covers <paramref name="samplesPerEpoch"/> samples.
    /// </summary>
    public abstract void ShowTraining(int epochs, int samplesPerEpoch, Action<Action<EpochResult>> train);

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

    public override void ShowTraining(int epochs, int samplesPerEpoch, Action<Action<EpochResult>> train) =>
        train(epoch => Console.WriteLine(
            $"epoch={epoch.Epoch}/{epoch.Epochs} loss={epoch.Loss:F4} test_acc={epoch.TestAccuracy:F4} train_samples_per_s={epoch.SamplesPerSecond:F0}"));

    // Each epoch is already on its own line.
    public override void Summary(IReadOnlyList<EpochResult> epochs, Evaluation test) => Console.WriteLine(TestResult(test));
}

/// <summary>A live progress bar while training, then a table of the epochs.</summary>
internal sealed class TerminalConsole : TrainingConsole
{
    public override void Line(string text) => AnsiConsole.MarkupLineInterpolated($"[grey]{text}[/]");

    public override void ShowTraining(int epochs, int samplesPerEpoch, Action<Action<EpochResult>> train) =>
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
                // The bar counts samples, so Spectre's time remaining follows the samples still to train.
                ProgressTask task = context.AddTask($"epoch 0/{epochs}", maxValue: (double)epochs * samplesPerEpoch);
                train(epoch =>
                {
                    task.Tag = epoch;
                    task.Description = $"epoch {epoch.Epoch}/{epoch.Epochs}  loss {epoch.Loss:F4}";
                    task.Increment(samplesPerEpoch);
                });
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

        AnsiConsole.MarkupLineInterpolated($"[bold green]{TestResult(test)}[/]");
    }

    /// <summary>The training throughput of the last epoch, as <see cref="Network.Fit"/> measured it (test evaluation left out).</summary>
    private sealed class TrainingRateColumn : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            task.Tag is EpochResult epoch ? new Markup($"[blue]{epoch.SamplesPerSecond:N0} samples/s[/]") : new Text("");
    }
}
