using ScottPlot;

/// <summary>The loss and test accuracy of each epoch, drawn into a PNG image with ScottPlot.</summary>
internal static class TrainingCurves
{
    public static void SavePng(IReadOnlyList<EpochResult> epochs, string title, string path)
    {
        double[] epochNumbers = [.. epochs.Select(epoch => (double)epoch.Epoch)];
        var plot = new Plot();
        plot.Title(title);
        plot.XLabel("epoch");
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };

        // Loss on the left axis, accuracy on the right: they share the epochs but not the scale.
        var loss = plot.Add.Scatter(epochNumbers, [.. epochs.Select(epoch => (double)epoch.Loss)]);
        loss.LegendText = "training loss";
        plot.Axes.Left.Label.Text = "training loss (mean over the epoch)";
        plot.Axes.Left.Label.ForeColor = loss.Color;

        var accuracy = plot.Add.Scatter(epochNumbers, [.. epochs.Select(epoch => (double)epoch.TestAccuracy)]);
        accuracy.LegendText = "test accuracy";
        accuracy.Axes.YAxis = plot.Axes.Right;
        plot.Axes.Right.Label.Text = "test accuracy";
        plot.Axes.Right.Label.ForeColor = accuracy.Color;

        plot.ShowLegend(Alignment.MiddleRight);
        plot.SavePng(path, 900, 540);
    }
}
