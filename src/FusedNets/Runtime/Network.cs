using FusedNets.Generated;
using System.Diagnostics;
using FusedNets.Backends;
using FusedNets.Data;

namespace FusedNets;

/// <summary>
/// The runtime half of every declared network: the generated partial class derives from this, adds typed
/// members (<c>Input</c>, <c>Output</c>, <c>Predict(in Input)</c>, the <c>TrainBatch</c> overload its loss
/// takes) and delegates here. Arguments are validated before any backend sees them.
/// </summary>
/// <remarks>
/// <para>
/// Every argument is checked before anything changes: a wrong span length, a label outside [0, classes),
/// a NaN or infinity in training inputs or targets, an empty data set or a batch size below 1 throws an
/// <see cref="ArgumentException"/> (or <see cref="ArgumentOutOfRangeException"/>) naming the parameter and the
/// offending value, and leaves the network exactly as it was. A disposed network throws
/// <see cref="ObjectDisposedException"/>. A training step that goes non-finite throws
/// <see cref="TrainingDivergedException"/> and is dropped.
/// </para>
/// <para>
/// A network may be shared between threads: its operations (Predict, training, evaluation, saving, reading
/// or setting parameters, Dispose) run one at a time, so concurrent calls give the results of some sequential
/// order. <see cref="Fit"/> lets other calls in between its batches. The spans of <see cref="Layer.Weights"/> and
/// <see cref="Layer.Bias"/> are not guarded: edit them only while no other thread uses the network.
/// </para>
/// </remarks>
public abstract partial class Network : IDisposable
{
    private readonly INetworkEngine _engine;
    private readonly Lock _gate = new();
    private readonly float[] _parameters;
    private readonly float[]?[] _masks;
    private readonly Layer[] _layers;
    private bool _hostParametersStale;
    private bool _hostParametersEdited;
    private bool _disposed;

    /// <summary>Creates the network's parameters from <paramref name="seed"/> on <paramref name="backend"/>.</summary>
    protected Network(NetworkDefinition definition, int seed, Backend backend)
    {
        ArgumentNullException.ThrowIfNull(definition);
        GeneratedDefinition = definition;
        Architecture = definition.Architecture;
        Seed = seed;

        NetworkArchitecture architecture = Architecture;
        _masks = [.. architecture.Layers.Select(LayerMask.ArrayOf)];
        _parameters = new float[architecture.ParameterCount];
        Initialization.Initialize(architecture, _masks, seed, _parameters);

        _layers = new Layer[architecture.Layers.Length + 1];
        _layers[0] = new Layer(this, architecture.InputName, architecture.InputShape, null, 0);
        for (int l = 0; l < architecture.Layers.Length; l++)
        {
            LayerArchitecture layer = architecture.Layers[l];
            _layers[l + 1] = new Layer(this, layer.Name, layer.OutputShape, layer, architecture.ParameterOffset(l));
        }

        _engine = Engines.Create(definition, backend, _masks);
        _engine.WriteParameters(_parameters);
    }

    public NetworkArchitecture Architecture { get; }

    /// <summary>What the generator emitted for this network's class, for tests that build engines from it.</summary>
    internal NetworkDefinition GeneratedDefinition { get; }

    /// <summary>The backend's engine, for tests that drive it directly.</summary>
    internal INetworkEngine Engine => _engine;

    /// <summary>The seed the parameters were initialized from.</summary>
    public int Seed { get; private set; }

    /// <summary>The backend the network runs on (<see cref="Backend.Auto"/> resolved).</summary>
    public Backend Backend => _engine.Backend;

    /// <summary>The device, in words.</summary>
    public string DeviceName => _engine.DeviceName;

    /// <summary>The input layer, then every other layer, in declaration order.</summary>
    public IReadOnlyList<Layer> Layers => _layers;

    /// <summary>The loss this network trains with.</summary>
    public Loss Loss => Architecture.Loss;

    /// <summary>
    /// Runs a batch forward: <paramref name="inputs"/> holds n × InputSize floats, <paramref name="outputs"/>
    /// receives n × OutputSize (the last layer's activations: logits for a softmax classifier).
    /// </summary>
    /// <remarks>Inputs are not scanned for NaN here: a non-finite input gives non-finite outputs and changes nothing.</remarks>
    public void Predict(ReadOnlySpan<float> inputs, Span<float> outputs)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            int batch = CheckInputs(inputs, nameof(inputs));
            CheckLength(outputs.Length, batch, Architecture.OutputSize, nameof(outputs));
            if (batch == 0)
            {
                return;
            }

            PrepareEngine();
            _engine.Predict(inputs, outputs, batch);
        }
    }

    /// <summary>
    /// One sample forward, for the generated <c>Predict(in Input)</c>: its fixed-size types already guarantee
    /// the lengths, so this goes straight to the engine's single-sample path.
    /// </summary>
    protected void PredictSample(ReadOnlySpan<float> input, Span<float> output)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            PrepareEngine();
            _engine.Predict(input, output, 1);
        }
    }

    /// <summary>
    /// Trains on the whole data set for <paramref name="epochs"/> epochs, numbered from
    /// <paramref name="firstEpoch"/>; the last batch of an epoch may be smaller. Each epoch visits the samples
    /// in an order drawn from (<paramref name="shuffleSeed"/>, epoch number) alone, so a run resumed from a
    /// saved model with <c>firstEpoch: 3</c> sees exactly the batches that epoch 3 of one long run would.
    /// A <paramref name="batchSize"/> larger than the data set is clamped to it: each epoch is then one batch.
    /// </summary>
    /// <remarks>
    /// The whole data set is checked before the first step (feature and target counts, labels in range, every
    /// value finite), so bad data leaves the network untouched. It must not change while Fit runs.
    /// </remarks>
    /// <exception cref="TrainingDivergedException">A step went non-finite; the network keeps the last good step.</exception>
    public IReadOnlyList<EpochReport> Fit(
        Dataset data,
        Sgd sgd,
        int epochs,
        int batchSize = 32,
        int shuffleSeed = 0,
        Action<EpochReport>? onEpoch = null,
        int firstEpoch = 1)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(sgd);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(epochs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(firstEpoch);
        if (firstEpoch > int.MaxValue - epochs + 1)
        {
            throw new ArgumentOutOfRangeException(nameof(epochs), epochs, $"Epochs {firstEpoch} to {firstEpoch}+{epochs}-1 run past epoch {int.MaxValue}.");
        }

        CheckDataset(data, nameof(data));
        CheckDataValues(data, nameof(data));

        int inputSize = Architecture.InputSize;
        int targetSize = data.IsClassification ? 0 : Architecture.OutputSize;
        batchSize = Math.Min(batchSize, data.Count);
        var batchInputs = new float[batchSize * inputSize];
        var batchLabels = new int[data.IsClassification ? batchSize : 0];
        var batchTargets = new float[batchSize * targetSize];
        var order = new int[data.Count];
        int lastEpoch = firstEpoch + epochs - 1;
        var reports = new List<EpochReport>(epochs);

        for (int epoch = firstEpoch; epoch <= lastEpoch; epoch++)
        {
            ShuffledOrder(order, shuffleSeed, epoch);
            long start = Stopwatch.GetTimestamp();
            double lossSum = 0;
            if (_engine is IEpochTrainer trainer)
            {
                // GPU engines take the whole epoch at once: no host round trip per batch.
                lossSum = (double)TrainEpochOnEngine(trainer, data, order, batchSize, sgd, epoch) * data.Count;
            }
            else
            {
                int batchNumber = 0;
                for (int first = 0; first < data.Count; first += batchSize)
                {
                    int batch = Math.Min(batchSize, data.Count - first);
                    batchNumber++;
                    for (int i = 0; i < batch; i++)
                    {
                        int sample = order[first + i];
                        data.FeaturesOf(sample).CopyTo(batchInputs.AsSpan(i * inputSize));
                        if (data.IsClassification)
                        {
                            batchLabels[i] = data.Labels[sample];
                        }
                        else
                        {
                            data.Targets.Slice(sample * targetSize, targetSize).CopyTo(batchTargets.AsSpan(i * targetSize));
                        }
                    }

                    float loss = TrainStep(
                        batchInputs.AsSpan(0, batch * inputSize),
                        batchLabels.AsSpan(0, data.IsClassification ? batch : 0),
                        batchTargets.AsSpan(0, batch * targetSize),
                        sgd,
                        epoch,
                        batchNumber);
                    lossSum += (double)loss * batch;
                }
            }

            TimeSpan elapsed = Stopwatch.GetElapsedTime(start);
            var report = new EpochReport(epoch, lastEpoch, (float)(lossSum / data.Count), data.Count / Math.Max(elapsed.TotalSeconds, 1e-9), elapsed);
            reports.Add(report);
            onEpoch?.Invoke(report);
        }

        return reports;
    }

    /// <summary>One epoch in one engine call; a diverged batch throws with the parameters from before it.</summary>
    private float TrainEpochOnEngine(IEpochTrainer trainer, Dataset data, int[] order, int batchSize, Sgd sgd, int epoch)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            PrepareEngine();
            float loss = trainer.TrainEpoch(data, order, batchSize, sgd.ToStep(), out int failedBatch);
            _hostParametersStale = true;
            if (failedBatch >= 0)
            {
                int first = failedBatch * batchSize;
                Dataset failed = data.Select(order.AsSpan(first, Math.Min(batchSize, order.Length - first)));
                throw new TrainingDivergedException(epoch, failedBatch + 1, LossBeforeStep(failed.Features, failed.Labels, failed.Targets, failed.Count));
            }

            return loss;
        }
    }

    /// <summary>
    /// Fills <paramref name="order"/> with a permutation of 0..n-1 that depends on nothing but
    /// <paramref name="shuffleSeed"/> and <paramref name="epoch"/>.
    /// </summary>
    private static void ShuffledOrder(int[] order, int shuffleSeed, int epoch)
    {
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        // SplitMix64's mixer over (seed, epoch): nearby seeds and epochs give unrelated orders. A seeded
        // System.Random draws the same sequence on every runtime and machine.
        ulong hash = Mix(Mix((ulong)(uint)shuffleSeed) ^ (uint)epoch);
        new Random((int)(hash >> 33)).Shuffle(order);

        static ulong Mix(ulong z)
        {
            z += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }

    /// <summary>The mean loss over <paramref name="data"/>, and for classifiers the accuracy.</summary>
    public Evaluation Evaluate(Dataset data, int batchSize = 256)
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
        int correct = 0;
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
                if (data.IsClassification && ArgMax(outputs.AsSpan(i * outputSize, outputSize)) == labels[i])
                {
                    correct++;
                }
            }
        }

        float? accuracy = data.IsClassification ? (float)correct / data.Count : null;
        return new Evaluation((float)(lossSum / data.Count), accuracy, data.Count);
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

    /// <summary>Copies every parameter (the flat layout of <see cref="NetworkArchitecture"/>) out.</summary>
    public void CopyParametersTo(Span<float> destination)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            CheckLength(destination.Length, 1, Architecture.ParameterCount, nameof(destination));
            SyncHostParameters();
            _parameters.CopyTo(destination);
        }
    }

    /// <summary>Replaces every parameter; masked weights are forced to zero. Every value must be finite.</summary>
    public void SetParameters(ReadOnlySpan<float> source)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            CheckLength(source.Length, 1, Architecture.ParameterCount, nameof(source));
            CheckFinite(source, nameof(source), "parameter");
            source.CopyTo(_parameters);
            _hostParametersStale = false;
            _hostParametersEdited = true;
        }
    }

    /// <summary>Releases the backend's memory and threads; waits for a call in progress on another thread to finish.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (!_disposed)
            {
                _disposed = true;
                _engine.Dispose();
            }
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>One SGD step; the generated <c>TrainBatch</c> overload of the network's loss calls this.</summary>
    /// <exception cref="TrainingDivergedException">The step went non-finite and was dropped: parameters and momentum are unchanged.</exception>
    protected internal float TrainBatchCore(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, Sgd sgd)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(sgd);
        CheckBatch(inputs, labels, targets);
        CheckFinite(inputs, nameof(inputs), "input");
        CheckFinite(targets, nameof(targets), "target");
        return TrainStep(inputs, labels, targets, sgd, epoch: null, batchNumber: null);
    }

    /// <summary>
    /// One step on a batch whose values are already known to be finite. Labels are checked again here: they
    /// index memory in the engines, and checking a batch of them costs nothing next to the step.
    /// </summary>
    private float TrainStep(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, Sgd sgd, int? epoch, int? batchNumber)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            int batch = CheckBatch(inputs, labels, targets);
            PrepareEngine();
            float loss = _engine.TrainBatch(inputs, labels, targets, batch, sgd.ToStep());
            if (float.IsNaN(loss))
            {
                throw new TrainingDivergedException(epoch, batchNumber, LossBeforeStep(inputs, labels, targets, batch));
            }

            _hostParametersStale = true;
            return loss;
        }
    }

    /// <summary>The batch's mean loss under the current parameters: what a diverged step started from.</summary>
    private float LossBeforeStep(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, int batch)
    {
        var outputs = new float[batch * Architecture.OutputSize];
        var losses = new float[batch];
        _engine.Evaluate(inputs, labels, targets, batch, outputs, losses);
        double sum = 0;
        foreach (float loss in losses)
        {
            sum += loss;
        }

        return (float)(sum / batch);
    }

    /// <summary>dLoss/dinputs for a batch, parameters unchanged; returns the batch's mean loss.</summary>
    protected internal float InputGradientCore(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, Span<float> inputGradient)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            int batch = CheckBatch(inputs, labels, targets);
            CheckLength(inputGradient.Length, batch, Architecture.InputSize, nameof(inputGradient));
            CheckFinite(inputs, nameof(inputs), "input");
            CheckFinite(targets, nameof(targets), "target");
            PrepareEngine();
            return _engine.InputGradient(inputs, labels, targets, batch, inputGradient);
        }
    }

    /// <summary>A writable view of part of the parameters, for <see cref="Layer"/>.</summary>
    internal Span<float> EditParameters(int offset, int length)
    {
        lock (_gate)
        {
            SyncHostParameters();
            _hostParametersEdited = true;
            return _parameters.AsSpan(offset, length);
        }
    }

    private void SyncHostParameters()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_hostParametersStale)
        {
            _engine.ReadParameters(_parameters);
            _hostParametersStale = false;
        }
    }

    /// <summary>Pushes parameter edits made through <see cref="Layer"/> spans, re-applying the masks.</summary>
    private void PrepareEngine()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_hostParametersEdited)
        {
            return;
        }

        ApplyMasks(_parameters);
        _engine.WriteParameters(_parameters);
        _hostParametersEdited = false;
    }

    /// <summary>Zeroes the masked weights of a vector in the flat parameter layout (parameters or momentum).</summary>
    private void ApplyMasks(Span<float> values)
    {
        for (int l = 0; l < _masks.Length; l++)
        {
            if (_masks[l] is { } mask)
            {
                Span<float> weights = values.Slice(Architecture.WeightOffset(l), mask.Length);
                for (int i = 0; i < mask.Length; i++)
                {
                    weights[i] *= mask[i];
                }
            }
        }
    }

    private int CheckInputs(ReadOnlySpan<float> inputs, string parameter)
    {
        int inputSize = Architecture.InputSize;
        if (inputs.Length % inputSize != 0)
        {
            throw new ArgumentException(
                $"{Architecture.Name} expects inputs of shape (batch, {inputSize}): a multiple of {inputSize} floats, but got {inputs.Length}.",
                parameter);
        }

        return inputs.Length / inputSize;
    }

    private int CheckBatch(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets)
    {
        int batch = CheckInputs(inputs, nameof(inputs));
        if (batch == 0)
        {
            throw new ArgumentException("The batch is empty.", nameof(inputs));
        }

        if (Architecture.IsClassifier)
        {
            if (labels.Length != batch)
            {
                throw new ArgumentException($"Expected {batch} labels (one per input row), got {labels.Length}.", nameof(labels));
            }

            int classes = Architecture.OutputSize;
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
            CheckLength(targets.Length, batch, Architecture.OutputSize, nameof(targets));
        }

        return batch;
    }

    private void CheckDataset(Dataset data, string parameter)
    {
        if (data.FeatureCount != Architecture.InputSize)
        {
            throw new ArgumentException($"{Architecture.Name} takes {Architecture.InputSize} features per sample; the data set has {data.FeatureCount}.", parameter);
        }

        bool classifier = Architecture.IsClassifier;
        if (classifier != data.IsClassification)
        {
            throw new ArgumentException(
                classifier ? $"{Architecture.Name} is a classifier: it needs a data set with labels." : $"{Architecture.Name} is a regressor: it needs a data set with float targets.",
                parameter);
        }

        if (classifier && data.ClassCount > Architecture.OutputSize)
        {
            throw new ArgumentException($"The data set has labels up to {data.ClassCount - 1}, but {Architecture.Name} has {Architecture.OutputSize} classes.", parameter);
        }

        if (!classifier && data.TargetCount != Architecture.OutputSize)
        {
            throw new ArgumentException($"{Architecture.Name} has {Architecture.OutputSize} outputs; the data set has {data.TargetCount} targets per sample.", parameter);
        }
    }

    /// <summary>Refuses a data set with labels outside [0, classes) or a non-finite feature or target, before anything trains.</summary>
    private void CheckDataValues(Dataset data, string parameter)
    {
        if (data.Count == 0)
        {
            throw new ArgumentException("The data set is empty.", parameter);
        }

        if (data.IsClassification)
        {
            int classes = Architecture.OutputSize;
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

    /// <summary>Refuses NaN and infinity, naming the first such value's index.</summary>
    private static void CheckFinite(ReadOnlySpan<float> values, string parameter, string what)
    {
        if (NonFinite.IndexOf(values) is >= 0 and int index)
        {
            throw new ArgumentException(Invariant($"{parameter}[{index}] is {values[index]}: every {what} must be a finite number."), parameter);
        }
    }

    private static string Invariant(FormattableString text) => text.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Throws unless <paramref name="actual"/> is rows × columns; the message is formatted only then, so a passing check allocates nothing.</summary>
    private static void CheckLength(long actual, int rows, int columns, string parameter)
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
