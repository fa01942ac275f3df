using FusedNets.Data;

namespace FusedNets;

// Argument checks: every public call validates here before a backend sees anything (docs/reliability.md).
public abstract partial class Network
{
    private int CheckInputs(ReadOnlySpan<float> inputs, string parameter) => CheckInputs(Architecture, inputs, parameter);

    internal static int CheckInputs(NetworkArchitecture architecture, ReadOnlySpan<float> inputs, string parameter)
    {
        int inputSize = architecture.InputSize;
        if (inputs.Length % inputSize != 0)
        {
            throw new ArgumentException(
                $"{architecture.Name} expects inputs of shape (batch, {inputSize}): a multiple of {inputSize} floats, but got {inputs.Length}.",
                parameter);
        }

        return inputs.Length / inputSize;
    }

    private int CheckBatch(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets) => CheckBatch(Architecture, inputs, labels, targets);

    internal static int CheckBatch(NetworkArchitecture architecture, ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets)
    {
        int batch = CheckInputs(architecture, inputs, nameof(inputs));
        if (batch == 0)
        {
            throw new ArgumentException("The batch is empty.", nameof(inputs));
        }

        if (architecture.IsClassifier)
        {
            if (labels.Length != batch)
            {
                throw new ArgumentException($"Expected {batch} labels (one per input row), got {labels.Length}.", nameof(labels));
            }

            int classes = architecture.OutputSize;
            for (int i = 0; i < labels.Length; i++)
            {
                if ((uint)labels[i] >= (uint)classes)
                {
                    throw new ArgumentOutOfRangeException(nameof(labels), labels[i], $"Label {i} is {labels[i]}, outside [0, {classes}).");
                }
            }
        }
        else
        {
            CheckLength(targets.Length, batch, architecture.OutputSize, nameof(targets));
        }

        return batch;
    }

    private void CheckDataset(Dataset data, string parameter) => CheckDataset(Architecture, data, parameter);

    internal static void CheckDataset(NetworkArchitecture architecture, Dataset data, string parameter)
    {
        if (data.FeatureCount != architecture.InputSize)
        {
            throw new ArgumentException($"{architecture.Name} takes {architecture.InputSize} features per sample; the data set has {data.FeatureCount}.", parameter);
        }

        bool classifier = architecture.IsClassifier;
        if (classifier != data.IsClassification)
        {
            throw new ArgumentException(
                classifier ? $"{architecture.Name} is a classifier: it needs a data set with labels." : $"{architecture.Name} is a regressor: it needs a data set with float targets.",
                parameter);
        }

        if (classifier && data.ClassCount > architecture.OutputSize)
        {
            throw new ArgumentException($"The data set has labels up to {data.ClassCount - 1}, but {architecture.Name} has {architecture.OutputSize} classes.", parameter);
        }

        if (!classifier && data.TargetCount != architecture.OutputSize)
        {
            throw new ArgumentException($"{architecture.Name} has {architecture.OutputSize} outputs; the data set has {data.TargetCount} targets per sample.", parameter);
        }
    }

    /// <summary>Refuses a data set with labels outside [0, classes) or a non-finite feature or target, before anything trains.</summary>
    private void CheckDataValues(Dataset data, string parameter) => CheckDataValues(Architecture, data, parameter);

    internal static void CheckDataValues(NetworkArchitecture architecture, Dataset data, string parameter)
    {
        if (data.Count == 0)
        {
            throw new ArgumentException("The data set is empty.", parameter);
        }

        if (data.IsClassification)
        {
            int classes = architecture.OutputSize;
            ReadOnlySpan<int> labels = data.Labels;
            for (int i = 0; i < labels.Length; i++)
            {
                if ((uint)labels[i] >= (uint)classes)
                {
                    throw new ArgumentOutOfRangeException(parameter, labels[i], $"The label of sample {i} is {labels[i]}, outside [0, {classes}).");
                }
            }
        }

        if (NonFinite.IndexOf(data.Features) is >= 0 and int feature)
        {
            throw new ArgumentException(
                Invariant($"Feature {feature % data.FeatureCount} of sample {feature / data.FeatureCount} is {data.Features[feature]}: features must be finite numbers."), parameter);
        }

        if (NonFinite.IndexOf(data.Targets) is >= 0 and int target)
        {
            throw new ArgumentException(
                Invariant($"Target {target % data.TargetCount} of sample {target / data.TargetCount} is {data.Targets[target]}: targets must be finite numbers."), parameter);
        }
    }

    /// <summary>Refuses a validation set that does not fit the network, and a patience without one or below 1.</summary>
    private void CheckValidation(Dataset? validation, int? patience)
    {
        if (validation is not null)
        {
            CheckDataset(validation, nameof(validation));
            CheckDataValues(validation, nameof(validation));
        }

        if (patience is { } epochs)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(epochs, nameof(patience));
            if (validation is null)
            {
                throw new ArgumentException("Early stopping watches the validation loss: a patience needs a validation data set.", nameof(patience));
            }
        }
    }

    /// <summary>Refuses NaN and infinity, naming the first such value's index.</summary>
    internal static void CheckFinite(ReadOnlySpan<float> values, string parameter, string what)
    {
        if (NonFinite.IndexOf(values) is >= 0 and int index)
        {
            throw new ArgumentException(Invariant($"{parameter}[{index}] is {values[index]}: every {what} must be a finite number."), parameter);
        }
    }

    private static string Invariant(FormattableString text) => text.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Throws unless <paramref name="actual"/> is rows × columns; the message is formatted only then, so a passing check allocates nothing.</summary>
    internal static void CheckLength(long actual, int rows, int columns, string parameter)
    {
        long expected = (long)rows * columns;
        if (actual != expected)
        {
            throw new ArgumentException(
                rows == 1 ? $"Expected {expected} elements, got {actual}." : $"Expected {expected} elements ({rows} × {columns}), got {actual}.",
                parameter);
        }
    }
}
