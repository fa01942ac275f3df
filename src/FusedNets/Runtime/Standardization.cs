using System.Collections.ObjectModel;
using FusedNets.Data;

namespace FusedNets;

/// <summary>
/// The statistics a network declared with <c>[Input(..., Standardize = true)]</c> standardizes its input with: for each
/// channel c (each feature of a vector input), x' = (x − <see cref="Mean"/>[c]) / <see cref="StandardDeviation"/>[c], in
/// float, before the first layer. Read and set them through <see cref="Network.Standardization"/>.
/// </summary>
public sealed class Standardization
{
    /// <param name="mean">Each channel's mean: finite.</param>
    /// <param name="standardDeviation">Each channel's standard deviation: finite and above 0.</param>
    public Standardization(ReadOnlySpan<float> mean, ReadOnlySpan<float> standardDeviation)
    {
        if (mean.IsEmpty || mean.Length != standardDeviation.Length)
        {
            throw new ArgumentException($"Expected as many standard deviations as means, at least one; got {mean.Length} means and {standardDeviation.Length} standard deviations.", nameof(standardDeviation));
        }

        for (int c = 0; c < mean.Length; c++)
        {
            if (!float.IsFinite(mean[c]))
            {
                throw new ArgumentException(FormattableString.Invariant($"mean[{c}] is {mean[c]}: a mean must be a finite number."), nameof(mean));
            }

            if (!float.IsFinite(standardDeviation[c]) || standardDeviation[c] <= 0)
            {
                throw new ArgumentException(
                    FormattableString.Invariant($"standardDeviation[{c}] is {standardDeviation[c]}: a standard deviation must be a finite number above 0."), nameof(standardDeviation));
            }
        }

        Mean = new ReadOnlyCollection<float>(mean.ToArray());
        StandardDeviation = new ReadOnlyCollection<float>(standardDeviation.ToArray());
    }

    /// <summary>Each channel's mean.</summary>
    public IReadOnlyList<float> Mean { get; }

    /// <summary>Each channel's standard deviation.</summary>
    public IReadOnlyList<float> StandardDeviation { get; }

    /// <summary>
    /// Each channel's mean and standard deviation over <paramref name="data"/>, for a network of
    /// <paramref name="architecture"/>: per feature for a vector input, per channel (over every pixel of every sample) for
    /// an image. As scikit-learn's <c>StandardScaler</c>: the population standard deviation (divided by n), computed in
    /// double, and 1 for a channel whose values are all equal, which then is only centered.
    /// </summary>
    public static Standardization Estimate(Dataset data, NetworkArchitecture architecture)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(architecture);
        if (data.FeatureCount != architecture.InputSize)
        {
            throw new ArgumentException($"{architecture.Name} takes {architecture.InputSize} features per sample; the data set has {data.FeatureCount}.", nameof(data));
        }

        if (data.Count == 0)
        {
            throw new ArgumentException("The data set is empty.", nameof(data));
        }

        int channels = architecture.InputShape.Channels, run = architecture.InputSize / channels;
        var mean = new float[channels];
        var standardDeviation = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            (mean[c], standardDeviation[c]) = Statistics(data, c * run, run);
        }

        return new Standardization(mean, standardDeviation);
    }

    /// <summary>The mean and standard deviation of the values at [first, first + run) of every sample, in two passes.</summary>
    private static (float Mean, float StandardDeviation) Statistics(Dataset data, int first, int run)
    {
        double sum = 0;
        float lowest = float.PositiveInfinity, highest = float.NegativeInfinity;
        for (int s = 0; s < data.Count; s++)
        {
            foreach (float x in data.FeaturesOf(s).Slice(first, run))
            {
                sum += x;
                (lowest, highest) = (Math.Min(lowest, x), Math.Max(highest, x));
            }
        }

        double count = (double)data.Count * run, mean = sum / count, squares = 0;
        for (int s = 0; s < data.Count; s++)
        {
            foreach (float x in data.FeaturesOf(s).Slice(first, run))
            {
                squares += (x - mean) * (x - mean);
            }
        }

        // A constant channel has nothing to scale; a spread too small or too large for a float divides by 1 or float's
        // largest, never by 0 or infinity.
        float deviation = lowest == highest ? 1 : (float)Math.Sqrt(squares / count);
        return ((float)mean, deviation > 0 ? Math.Min(deviation, float.MaxValue) : 1);
    }

    public override string ToString() => FormattableString.Invariant(
        $"Standardization(mean: [{string.Join(", ", Mean)}], standard deviation: [{string.Join(", ", StandardDeviation)}])");
}
