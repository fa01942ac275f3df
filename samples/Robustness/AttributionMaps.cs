using FusedNets;
using FusedNets.Data;
using ScottPlot;

/// <summary>
/// Integrated gradients of a few test digits, each drawn beside its image: which pixels raised the predicted digit's
/// logit over the black image's (red) and which lowered it (blue).
/// </summary>
internal static class AttributionMaps
{
    private const int Digits = 4;
    private const int Steps = 256;

    /// <summary>Writes one PNG per digit into <paramref name="directory"/> and returns their paths.</summary>
    public static IReadOnlyList<string> Save(Network network, Dataset test, int side, string directory)
    {
        Directory.CreateDirectory(directory);
        var files = new List<string>();
        var baseline = new float[test.FeatureCount];
        var attribution = new float[test.FeatureCount];
        var logits = new float[network.Architecture.OutputSize];
        for (int sample = 0; sample < Math.Min(Digits, test.Count); sample++)
        {
            ReadOnlySpan<float> pixels = test.FeaturesOf(sample);
            network.Predict(pixels, logits);
            int predicted = Network.ArgMax(logits);
            Interpretability.IntegratedGradients(network, pixels, baseline, predicted, Steps, attribution);

            var plot = new Plot();
            plot.Title($"digit {test.Labels[sample]}, predicted {predicted}: image and integrated gradients ({Steps} steps)");

            // The image on the left, the attributions on the right, both side × side cells; the attribution's color
            // range is symmetric about 0 so that white means no contribution.
            var image = plot.Add.Heatmap(Grid(pixels, side));
            image.Colormap = new ScottPlot.Colormaps.Grayscale();
            image.Position = new CoordinateRect(0, side, 0, side);
            float limit = Math.Max(1e-6f, attribution.Max(MathF.Abs));
            var map = plot.Add.Heatmap(Grid(attribution, side));
            map.Colormap = new ScottPlot.Colormaps.Balance();
            map.ManualRange = new ScottPlot.Range(-limit, limit);
            map.Position = new CoordinateRect(side + 2, 2 * side + 2, 0, side);
            plot.Add.ColorBar(map);
            plot.Axes.SquareUnits();
            plot.HideGrid();

            string file = Path.Combine(directory, $"digit{sample}.png");
            plot.SavePng(file, 900, 480);
            files.Add(file);
        }

        return files;
    }

    /// <summary>Row-major pixels as ScottPlot's rows (top row first).</summary>
    private static double[,] Grid(ReadOnlySpan<float> values, int side)
    {
        var grid = new double[side, side];
        for (int row = 0; row < side; row++)
        {
            for (int column = 0; column < side; column++)
            {
                grid[row, column] = values[row * side + column];
            }
        }

        return grid;
    }
}
