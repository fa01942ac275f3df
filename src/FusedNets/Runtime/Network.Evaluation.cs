using FusedNets.Data;

namespace FusedNets;

// Evaluation: a network's loss and metrics over a data set.
public abstract partial class Network
{
    /// <summary>The batch size <see cref="Evaluate"/> takes by default, and validation within <see cref="Fit"/> takes.</summary>
    private const int EvaluationBatchSize = 256;

    /// <summary>
    /// The mean loss over <paramref name="data"/>; for a classifier the accuracy, the confusion matrix (with
    /// per-class precision, recall and F1) and the expected calibration error; for a regressor the RMSE and R².
    /// </summary>
    public Evaluation Evaluate(Dataset data, int batchSize = EvaluationBatchSize)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ArgumentNullException.ThrowIfNull(data);
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
            CheckDataset(data, nameof(data));
            CheckDataValues(data, nameof(data));
            return EvaluateChecked(data, batchSize);
        }
    }

    private Evaluation EvaluateChecked(Dataset data, int batchSize)
    {
        PrepareEngine();
        int inputSize = Architecture.InputSize, outputSize = Architecture.OutputSize;
        batchSize = Math.Min(batchSize, data.Count);
        var outputs = new float[batchSize * outputSize];
        var losses = new float[batchSize];
        double lossSum = 0;
        ClassificationMetrics? classification = data.IsClassification ? new(outputSize) : null;
        RegressionMetrics? regression = data.IsClassification ? null : new(data.Targets, outputSize);
        for (int first = 0; first < data.Count; first += batchSize)
        {
            int batch = Math.Min(batchSize, data.Count - first);
            ReadOnlySpan<float> inputs = data.Features.Slice(first * inputSize, batch * inputSize);
            ReadOnlySpan<int> labels = data.IsClassification ? data.Labels.Slice(first, batch) : default;
            ReadOnlySpan<float> targets = data.IsClassification ? default : data.Targets.Slice(first * outputSize, batch * outputSize);
            _engine.Evaluate(inputs, labels, targets, batch, outputs, losses);
            for (int i = 0; i < batch; i++)
            {
                lossSum += losses[i];
                ReadOnlySpan<float> output = outputs.AsSpan(i * outputSize, outputSize);
                if (classification is not null)
                {
                    classification.Add(output, labels[i]);
                }
                else
                {
                    regression!.Add(output, targets.Slice(i * outputSize, outputSize));
                }
            }
        }

        float loss = (float)(lossSum / data.Count);
        return classification is not null
            ? new Evaluation(loss, classification.Accuracy, data.Count)
            {
                ConfusionMatrix = classification.ConfusionMatrix(),
                ExpectedCalibrationError = classification.ExpectedCalibrationError(),
                ReliabilityDiagram = classification.ReliabilityDiagram(),
            }
            : new Evaluation(loss, null, data.Count)
            {
                RootMeanSquaredError = regression!.RootMeanSquaredError(),
                RSquared = regression.RSquared(),
            };
    }

    /// <summary>The index of the largest value (the first, on ties).</summary>
    public static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }

        return best;
    }
}
