namespace FusedNets;

/// <summary>
/// A classifier's predictions against the labels: <c>this[actual, predicted]</c> counts the samples labelled
/// <c>actual</c> whose largest output was <c>predicted</c> (rows are labels and columns predictions, as in
/// scikit-learn's <c>confusion_matrix</c>), and the per-class precision, recall and F1 that follow from it.
/// </summary>
/// <remarks>
/// A ratio whose denominator is 0 (precision of a class never predicted, recall of a class absent from the
/// data) is 0, as scikit-learn's default <c>zero_division</c> makes it.
/// </remarks>
public sealed class ConfusionMatrix : IEquatable<ConfusionMatrix>
{
    private readonly int[] _counts;

    /// <summary>A matrix from square counts [actual, predicted], each at least 0.</summary>
    public ConfusionMatrix(int[,] counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        int classes = counts.GetLength(0);
        if (classes == 0 || counts.GetLength(1) != classes)
        {
            throw new ArgumentException($"A confusion matrix is square with at least one class; got {classes} × {counts.GetLength(1)}.", nameof(counts));
        }

        _counts = new int[classes * classes];
        for (int actual = 0; actual < classes; actual++)
        {
            for (int predicted = 0; predicted < classes; predicted++)
            {
                int count = counts[actual, predicted];
                ArgumentOutOfRangeException.ThrowIfNegative(count, nameof(counts));
                _counts[actual * classes + predicted] = count;
            }
        }

        ClassCount = classes;
    }

    /// <summary>Takes over <paramref name="counts"/>, row-major [actual, predicted].</summary>
    internal ConfusionMatrix(int[] counts, int classes)
    {
        _counts = counts;
        ClassCount = classes;
    }

    /// <summary>The network's number of classes: rows and columns.</summary>
    public int ClassCount { get; }

    /// <summary>The samples labelled <paramref name="actual"/> that were predicted as <paramref name="predicted"/>.</summary>
    public int this[int actual, int predicted]
    {
        get
        {
            CheckClass(actual, nameof(actual));
            CheckClass(predicted, nameof(predicted));
            return _counts[actual * ClassCount + predicted];
        }
    }

    /// <summary>Every sample counted.</summary>
    public int Total => _counts.Sum();

    /// <summary>The samples labelled <paramref name="label"/> (its row's sum: scikit-learn's support).</summary>
    public int Support(int label)
    {
        CheckClass(label, nameof(label));
        int sum = 0;
        foreach (int count in _counts.AsSpan(label * ClassCount, ClassCount))
        {
            sum = checked(sum + count);
        }

        return sum;
    }

    /// <summary>Of the samples predicted as <paramref name="label"/>, the fraction labelled so: TP / (TP + FP).</summary>
    public float Precision(int label) => Ratio(TruePositives(label), PredictedAs(label));

    /// <summary>Of the samples labelled <paramref name="label"/>, the fraction predicted so: TP / (TP + FN).</summary>
    public float Recall(int label) => Ratio(TruePositives(label), Support(label));

    /// <summary>The harmonic mean of precision and recall: 2 TP / (2 TP + FP + FN).</summary>
    public float F1(int label) => Ratio(2L * TruePositives(label), PredictedAs(label) + (long)Support(label));

    public bool Equals(ConfusionMatrix? other) =>
        other is not null && other.ClassCount == ClassCount && other._counts.AsSpan().SequenceEqual(_counts);

    public override bool Equals(object? obj) => Equals(obj as ConfusionMatrix);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(_counts.AsSpan()));
        return hash.ToHashCode();
    }

    private int TruePositives(int label)
    {
        CheckClass(label, nameof(label));
        return _counts[label * ClassCount + label];
    }

    private long PredictedAs(int label)
    {
        CheckClass(label, nameof(label));
        long sum = 0;
        for (int actual = 0; actual < ClassCount; actual++)
        {
            sum += _counts[actual * ClassCount + label];
        }

        return sum;
    }

    private static float Ratio(long numerator, long denominator) => denominator == 0 ? 0 : (float)((double)numerator / denominator);

    private void CheckClass(int label, string parameter)
    {
        if ((uint)label >= (uint)ClassCount)
        {
            throw new ArgumentOutOfRangeException(parameter, label, $"Classes are 0 to {ClassCount - 1}.");
        }
    }
}
