namespace FusedNets.Data;

/// <summary>
/// Samples held in memory: float features (Count × FeatureCount, row-major) with either int class labels
/// (classification) or float targets (Count × TargetCount, regression).
/// </summary>
public sealed class Dataset
{
    private readonly float[] _features;
    private readonly int[]? _labels;
    private readonly float[]? _targets;

    private Dataset(float[] features, int featureCount, int[]? labels, float[]? targets, int targetCount)
    {
        _features = features;
        _labels = labels;
        _targets = targets;
        FeatureCount = featureCount;
        TargetCount = targetCount;
        Count = features.Length / featureCount;
    }

    /// <summary>A classification set: <paramref name="labels"/>[i] is the class of sample i.</summary>
    public static Dataset ForClassification(float[] features, int[] labels, int featureCount)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(featureCount);
        if (features.Length != (long)labels.Length * featureCount)
        {
            throw new ArgumentException(
                $"Expected {labels.Length} samples × {featureCount} features = {(long)labels.Length * featureCount} floats, got {features.Length}.",
                nameof(features));
        }

        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(labels), labels[i], $"Label {i} is negative.");
            }
        }

        return new Dataset(features, featureCount, labels, null, 0);
    }

    /// <summary>A regression set: sample i's targets are <paramref name="targets"/>[i * targetCount ..].</summary>
    public static Dataset ForRegression(float[] features, float[] targets, int featureCount, int targetCount)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(featureCount);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(targetCount);
        if (features.Length % featureCount != 0 || targets.Length != (long)(features.Length / featureCount) * targetCount)
        {
            throw new ArgumentException(
                $"Expected features of n × {featureCount} floats and targets of n × {targetCount}; got {features.Length} and {targets.Length}.",
                nameof(targets));
        }

        return new Dataset(features, featureCount, null, targets, targetCount);
    }

    /// <summary>The number of samples.</summary>
    public int Count { get; }

    public int FeatureCount { get; }

    /// <summary>Targets per sample for regression; 0 for classification.</summary>
    public int TargetCount { get; }

    public bool IsClassification => _labels is not null;

    /// <summary>One more than the largest label (classification), else 0.</summary>
    public int ClassCount => _labels is null || _labels.Length == 0 ? 0 : _labels.Max() + 1;

    public ReadOnlySpan<float> Features => _features;

    /// <summary>The labels; empty for a regression set.</summary>
    public ReadOnlySpan<int> Labels => _labels;

    /// <summary>The targets; empty for a classification set.</summary>
    public ReadOnlySpan<float> Targets => _targets;

    /// <summary>Sample <paramref name="index"/>'s features.</summary>
    public ReadOnlySpan<float> FeaturesOf(int index) => _features.AsSpan(index * FeatureCount, FeatureCount);

    /// <summary>The samples at <paramref name="indices"/>, in that order, as a new set.</summary>
    public Dataset Select(ReadOnlySpan<int> indices)
    {
        var features = new float[indices.Length * FeatureCount];
        for (int i = 0; i < indices.Length; i++)
        {
            FeaturesOf(indices[i]).CopyTo(features.AsSpan(i * FeatureCount));
        }

        if (_labels is not null)
        {
            var labels = new int[indices.Length];
            for (int i = 0; i < indices.Length; i++)
            {
                labels[i] = _labels[indices[i]];
            }

            return new Dataset(features, FeatureCount, labels, null, 0);
        }

        var targets = new float[indices.Length * TargetCount];
        for (int i = 0; i < indices.Length; i++)
        {
            _targets.AsSpan(indices[i] * TargetCount, TargetCount).CopyTo(targets.AsSpan(i * TargetCount));
        }

        return new Dataset(features, FeatureCount, null, targets, TargetCount);
    }

    /// <summary>
    /// A seeded random split: <paramref name="testFraction"/> of the samples go to Test, the rest to Train.
    /// </summary>
    public (Dataset Train, Dataset Test) Split(double testFraction, int seed)
    {
        if (!(testFraction > 0 && testFraction < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(testFraction), testFraction, "The test fraction must be in (0, 1).");
        }

        int[] order = Enumerable.Range(0, Count).ToArray();
        new Random(seed).Shuffle(order);
        int testCount = (int)Math.Round(Count * testFraction);
        return (Select(order.AsSpan(testCount)), Select(order.AsSpan(0, testCount)));
    }
}
