namespace FusedNets;

/// <summary>
/// Accumulates a classifier's evaluation sample by sample: the confusion matrix and the calibration bins of
/// <see cref="Evaluation.ExpectedCalibrationError"/>.
/// </summary>
internal sealed class ClassificationMetrics(int classes)
{
    /// <summary>Equal-width confidence bins, as Guo et al. (2017) and most calibration reports use.</summary>
    private const int Bins = 15;

    private readonly int[] _confusion = new int[classes * classes];
    private readonly int[] _binCount = new int[Bins];
    private readonly int[] _binCorrect = new int[Bins];
    private readonly double[] _binConfidence = new double[Bins];
    private int _count;
    private int _correct;

    /// <param name="outputs">The network's outputs for one sample: softmax over them gives its class probabilities.</param>
    /// <param name="label">The sample's class.</param>
    public void Add(ReadOnlySpan<float> outputs, int label)
    {
        int predicted = Network.ArgMax(outputs);
        _confusion[label * classes + predicted]++;
        _count++;

        // The largest softmax probability is exp(max − max) / Σ exp(o − max) = 1 / Σ exp(o − max).
        double sum = 0;
        float max = outputs[predicted];
        foreach (float output in outputs)
        {
            sum += Math.Exp((double)output - max);
        }

        double confidence = 1 / sum;
        int bin = Math.Clamp((int)Math.Ceiling(confidence * Bins) - 1, 0, Bins - 1);
        _binCount[bin]++;
        _binConfidence[bin] += confidence;
        if (predicted == label)
        {
            _correct++;
            _binCorrect[bin]++;
        }
    }

    public float Accuracy => (float)_correct / _count;

    public ConfusionMatrix ConfusionMatrix() => new((int[])_confusion.Clone(), classes);

    /// <summary>Each bin's samples, mean confidence and accuracy: a reliability diagram's bars.</summary>
    public ReliabilityDiagram ReliabilityDiagram() => new(
    [
        .. Enumerable.Range(0, Bins).Select(bin => new CalibrationBin(
            (double)bin / Bins,
            (double)(bin + 1) / Bins,
            _binCount[bin],
            _binCount[bin] == 0 ? double.NaN : _binConfidence[bin] / _binCount[bin],
            _binCount[bin] == 0 ? double.NaN : (double)_binCorrect[bin] / _binCount[bin])),
    ]);

    /// <summary>Σ over bins of (n_b / n) · |accuracy_b − confidence_b|, which is Σ |correct_b − Σ confidence_b| / n.</summary>
    public float ExpectedCalibrationError()
    {
        double error = 0;
        for (int bin = 0; bin < Bins; bin++)
        {
            error += Math.Abs(_binCorrect[bin] - _binConfidence[bin]);
        }

        return (float)(error / _count);
    }
}

/// <summary>Accumulates a regressor's evaluation: per output, the squared errors and the targets' spread about their mean.</summary>
internal sealed class RegressionMetrics
{
    private readonly double[] _targetMeans;
    private readonly double[] _squaredErrors;
    private readonly double[] _squaredDeviations;
    private int _count;

    /// <param name="targets">Every sample's targets (n × outputs): their means are taken first, so the spread sums stay accurate.</param>
    /// <param name="outputs">Targets per sample.</param>
    public RegressionMetrics(ReadOnlySpan<float> targets, int outputs)
    {
        _targetMeans = new double[outputs];
        _squaredErrors = new double[outputs];
        _squaredDeviations = new double[outputs];
        for (int i = 0; i < targets.Length; i++)
        {
            _targetMeans[i % outputs] += targets[i];
        }

        int samples = targets.Length / outputs;
        for (int j = 0; j < outputs; j++)
        {
            _targetMeans[j] /= samples;
        }
    }

    public void Add(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets)
    {
        for (int j = 0; j < outputs.Length; j++)
        {
            double error = (double)targets[j] - outputs[j];
            double deviation = targets[j] - _targetMeans[j];
            _squaredErrors[j] += error * error;
            _squaredDeviations[j] += deviation * deviation;
        }

        _count++;
    }

    public float RootMeanSquaredError()
    {
        double sum = 0;
        foreach (double squaredError in _squaredErrors)
        {
            sum += Math.Sqrt(squaredError / _count);
        }

        return (float)(sum / _squaredErrors.Length);
    }

    public float RSquared()
    {
        double sum = 0;
        for (int j = 0; j < _squaredErrors.Length; j++)
        {
            sum += _squaredDeviations[j] == 0
                ? (_squaredErrors[j] == 0 ? 1 : 0) // constant targets: scikit-learn's force_finite convention
                : 1 - _squaredErrors[j] / _squaredDeviations[j];
        }

        return (float)(sum / _squaredErrors.Length);
    }
}
