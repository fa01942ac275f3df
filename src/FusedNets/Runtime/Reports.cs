namespace FusedNets;

/// <summary>What one epoch of <see cref="Network.Fit"/> did.</summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="Epochs">The last epoch the run was to train: its number of epochs, unless it resumed at a later first epoch (early stopping may end it sooner).</param>
/// <param name="Loss">The mean training loss over the epoch's samples, each measured before its step.</param>
/// <param name="SamplesPerSecond">Training throughput over the epoch (validation left out).</param>
/// <param name="Elapsed">Wall-clock time of the epoch's training (validation left out).</param>
public readonly record struct EpochReport(int Epoch, int Epochs, float Loss, double SamplesPerSecond, TimeSpan Elapsed)
{
    /// <summary>The learning rate of every step of the epoch: the optimizer's, or its schedule's for this epoch.</summary>
    public float LearningRate { get; init; }

    /// <summary>The mean loss over the validation set after the epoch; null when Fit was given none.</summary>
    public float? ValidationLoss { get; init; }

    /// <summary>A classifier's accuracy on the validation set after the epoch; null without a validation set, and for a regressor.</summary>
    public float? ValidationAccuracy { get; init; }
}

/// <summary>
/// How far <see cref="Network.Fit"/> has come within an epoch, for a progress display.
/// </summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="Epochs">The last epoch of the run.</param>
/// <param name="Samples">The samples of this epoch trained so far.</param>
/// <param name="EpochSamples">The samples in an epoch (the training set's size).</param>
/// <param name="Loss">The mean training loss over the samples trained so far in this epoch.</param>
/// <param name="Elapsed">Wall-clock time since the epoch began.</param>
public readonly record struct TrainingProgress(int Epoch, int Epochs, int Samples, int EpochSamples, float Loss, TimeSpan Elapsed);

/// <summary>A network's loss over a data set, and for classifiers the fraction of samples whose largest output is the label.</summary>
/// <remarks>
/// Classifiers also get <see cref="ConfusionMatrix"/> (with per-class precision, recall and F1) and
/// <see cref="ExpectedCalibrationError"/>; regressors get <see cref="RootMeanSquaredError"/> and
/// <see cref="RSquared"/>. What a network does not have is null.
/// </remarks>
public readonly record struct Evaluation(float Loss, float? Accuracy, int Count)
{
    /// <summary>A classifier's counts of each label (row) predicted as each class (column), with per-class precision, recall and F1.</summary>
    public ConfusionMatrix? ConfusionMatrix { get; init; }

    /// <summary>
    /// A classifier's expected calibration error: the samples binned by confidence (the largest softmax
    /// probability) into 15 equal-width bins (0, 1/15], (1/15, 2/15], …; the mean over bins, weighted by their
    /// share of the samples, of |accuracy − mean confidence| within the bin. 0 for a perfectly calibrated model.
    /// </summary>
    public float? ExpectedCalibrationError { get; init; }

    /// <summary>
    /// A classifier's 15 confidence bins, the bars of a reliability diagram: per bin, its samples, their mean confidence
    /// and their accuracy. <see cref="ExpectedCalibrationError"/> is their count-weighted mean |accuracy − confidence|.
    /// </summary>
    public ReliabilityDiagram? ReliabilityDiagram { get; init; }

    /// <summary>
    /// A regressor's root mean squared error: per output, √(mean of (target − output)²), then the mean over the
    /// outputs (scikit-learn's default for several outputs).
    /// </summary>
    public float? RootMeanSquaredError { get; init; }

    /// <summary>
    /// A regressor's coefficient of determination: per output, 1 − Σ(target − output)² / Σ(target − mean target)²,
    /// then the mean over the outputs, as scikit-learn's <c>r2_score</c> computes it (an output whose targets are all
    /// equal counts 1 when predicted exactly, else 0). 1 is a perfect fit; 0 is no better than the mean; it can be negative.
    /// </summary>
    public float? RSquared { get; init; }
}

/// <summary>One bin of confidence (the largest predicted probability) in a classifier's evaluation.</summary>
/// <param name="Lower">The bin's lower edge, excluded (the first bin takes 0 too).</param>
/// <param name="Upper">The bin's upper edge, included.</param>
/// <param name="Count">Samples whose confidence falls in the bin.</param>
/// <param name="MeanConfidence">Their mean confidence; NaN when the bin is empty.</param>
/// <param name="Accuracy">The fraction of them predicted right; NaN when the bin is empty.</param>
public readonly record struct CalibrationBin(double Lower, double Upper, int Count, double MeanConfidence, double Accuracy);

/// <summary>
/// A classifier's samples binned by confidence (the largest predicted probability) into equal-width bins, as
/// <see cref="Evaluation.ExpectedCalibrationError"/> bins them: plot each bin's accuracy against its mean confidence,
/// and a calibrated classifier's bars follow the diagonal (Guo et al., 2017).
/// </summary>
public sealed class ReliabilityDiagram : IReadOnlyList<CalibrationBin>, IEquatable<ReliabilityDiagram>
{
    private readonly CalibrationBin[] _bins;

    internal ReliabilityDiagram(CalibrationBin[] bins) => _bins = bins;

    public int Count => _bins.Length;

    public CalibrationBin this[int index] => _bins[index];

    public IEnumerator<CalibrationBin> GetEnumerator() => ((IEnumerable<CalibrationBin>)_bins).GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public bool Equals(ReliabilityDiagram? other) => other is not null && _bins.AsSpan().SequenceEqual(other._bins);

    public override bool Equals(object? obj) => Equals(obj as ReliabilityDiagram);

    public override int GetHashCode() => _bins.Aggregate(0, (hash, bin) => HashCode.Combine(hash, bin));
}
