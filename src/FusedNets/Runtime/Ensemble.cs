using System.Diagnostics;
using FusedNets.Backends;
using FusedNets.Data;
using FusedNets.Generated;

namespace FusedNets;

/// <summary>
/// A deep ensemble (Lakshminarayanan, Pritzel and Blundell, 2017) of <see cref="Members"/> networks of one class, trained
/// together in one pass: member i starts as <c>new TNetwork(seed: seed + i)</c> would, every member sees the same
/// batches, and so each ends as that network trained alone on them would, to float rounding. <see cref="Predict"/>
/// gives the members' mean and variance: of their softmax probabilities for a classifier, of their outputs for a
/// regressor.
/// </summary>
/// <remarks>
/// <para>
/// The members run as one network whose layers hold every member's side by side (<see cref="EnsembleArchitecture"/>):
/// the first layer with weights is one product of all members' weight rows with the shared batch, every later one a
/// block-diagonal product that the CPU engine runs block by block, and a GPU engine as one launch per layer and phase
/// for all members. On the CPU the members are split into one such network per core, each on its own core
/// (<see cref="EnsembleEngines"/>), so that a step waits for the other cores once rather than at every phase.
/// </para>
/// <para>
/// Arguments are checked as <see cref="Network"/> checks them, before anything changes, and operations run one at a
/// time when the ensemble is shared between threads.
/// </para>
/// </remarks>
/// <typeparam name="TNetwork">A network class declared with <c>[Network]</c>.</typeparam>
public sealed class Ensemble<TNetwork> : IDisposable
    where TNetwork : Network, IDeclaredNetwork<TNetwork>
{
    private readonly EnsembleEngines _engines;
    private readonly Lock _gate = new();
    private float[] _outputs = [];
    private bool _disposed;

    // The optimizer state the members share (each member's slice of the fused buffers is its own), as Network keeps it.
    private OptimizerStateKind _optimizerState;
    private long _optimizerSteps;

    /// <summary>Creates <paramref name="members"/> networks, member i's parameters initialized from <paramref name="seed"/> + i, on <paramref name="backend"/>.</summary>
    /// <param name="members">How many networks, at least 1.</param>
    /// <param name="seed">Member 0's seed; member i takes seed + i.</param>
    /// <param name="backend">Where all members run.</param>
    public Ensemble(int members, int seed = 0, Backend backend = Backend.Auto)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(members);
        if (seed > int.MaxValue - (members - 1))
        {
            throw new ArgumentOutOfRangeException(nameof(seed), seed, $"Member seeds run from {seed} to {seed} + {members - 1}, past {int.MaxValue}.");
        }

        NetworkArchitecture member = TNetwork.Definition;
        Architecture = member;
        Seed = seed;

        var memberParameters = new float[member.ParameterCount];
        float[]?[] memberMasks = [.. member.Layers.Select(LayerMask.ArrayOf)];
        _engines = new EnsembleEngines(member, members, backend, m =>
        {
            Initialization.Initialize(member, memberMasks, seed + m, memberParameters);
            return memberParameters;
        });
    }

    /// <summary>How many networks the ensemble holds.</summary>
    public int Members => _engines.Members;

    /// <summary>Member 0's seed; member i's is Seed + i.</summary>
    public int Seed { get; }

    /// <summary>One member's architecture.</summary>
    public NetworkArchitecture Architecture { get; }

    /// <summary>The backend the members run on (<see cref="Backend.Auto"/> resolved).</summary>
    public Backend Backend => _engines.Backend;

    /// <summary>The device, in words.</summary>
    public string DeviceName => _engines.DeviceName;

    /// <summary>
    /// Trains every member for <paramref name="epochs"/> epochs on the same batches, in the order <see cref="Network.Fit"/>
    /// takes with the same <paramref name="shuffleSeed"/>: member i ends as <c>new TNetwork(seed: Seed + i)</c> trained
    /// with <c>Fit(data, optimizer, epochs, batchSize, shuffleSeed)</c> alone would. Each report's loss is the members' mean;
    /// its samples per second count each sample once, though every member trained on it.
    /// </summary>
    /// <exception cref="TrainingDivergedException">A step went non-finite for some member; every member keeps the last good step.</exception>
    public IReadOnlyList<EpochReport> Fit(Dataset data, Optimizer optimizer, int epochs, int batchSize = 32, int shuffleSeed = 0, Action<EpochReport>? onEpoch = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(epochs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        Network.CheckDataset(Architecture, data, nameof(data));
        Network.CheckDataValues(Architecture, data, nameof(data));

        batchSize = Math.Min(batchSize, data.Count);
        var batches = new Network.BatchBuffer(data, batchSize);
        var order = new int[data.Count];
        var reports = new List<EpochReport>(epochs);
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            Network.ShuffledOrder(order, shuffleSeed, epoch);
            long start = Stopwatch.GetTimestamp();
            double lossSum = _engines.EpochTrainer is { } trainer && data.IsClassification
                ? TrainEpochOnEngine(trainer, data, order, batchSize, optimizer, epoch)
                : TrainEpochInBatches(data, order, batches, optimizer, epoch);
            TimeSpan elapsed = Stopwatch.GetElapsedTime(start);
            var report = new EpochReport(epoch, epochs, (float)(lossSum / data.Count), data.Count / Math.Max(elapsed.TotalSeconds, 1e-9), elapsed)
            {
                LearningRate = optimizer.LearningRate,
            };
            reports.Add(report);
            onEpoch?.Invoke(report);
        }

        return reports;
    }

    /// <summary>One step of every member on a classifier's batch; returns the members' mean loss on it before the step.</summary>
    /// <param name="inputs">n × InputSize floats.</param>
    /// <param name="labels">One class per sample.</param>
    /// <param name="optimizer">The update rule, at its learning rate.</param>
    public float TrainBatch(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, Optimizer optimizer) =>
        TrainBatchChecked(inputs, labels, default, optimizer);

    /// <summary>One step of every member on a regressor's batch; returns the members' mean loss on it before the step.</summary>
    /// <param name="inputs">n × InputSize floats.</param>
    /// <param name="targets">n × OutputSize floats.</param>
    /// <param name="optimizer">The update rule, at its learning rate.</param>
    public float TrainBatch(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets, Optimizer optimizer) =>
        TrainBatchChecked(inputs, default, targets, optimizer);

    /// <summary>
    /// Runs a batch through every member: for each sample and output, the members' mean into <paramref name="mean"/> and
    /// their variance (over the members, dividing by their number) into <paramref name="variance"/>. A classifier's are
    /// of the members' softmax probabilities, so each sample's means sum to 1; a regressor's of its outputs.
    /// </summary>
    /// <param name="inputs">n × InputSize floats.</param>
    /// <param name="mean">n × OutputSize floats out.</param>
    /// <param name="variance">n × OutputSize floats out.</param>
    public void Predict(ReadOnlySpan<float> inputs, Span<float> mean, Span<float> variance)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            int batch = Network.CheckInputs(Architecture, inputs, nameof(inputs));
            int outputs = Architecture.OutputSize;
            Network.CheckLength(mean.Length, batch, outputs, nameof(mean));
            Network.CheckLength(variance.Length, batch, outputs, nameof(variance));
            if (batch == 0)
            {
                return;
            }

            ReadOnlySpan<float> members = RunMembers(inputs, batch);
            var values = new double[Members * outputs];
            for (int s = 0; s < batch; s++)
            {
                MemberValues(members.Slice(s * Members * outputs, Members * outputs), values);
                for (int o = 0; o < outputs; o++)
                {
                    double sum = 0;
                    for (int m = 0; m < Members; m++)
                    {
                        sum += values[m * outputs + o];
                    }

                    double average = sum / Members, squares = 0;
                    for (int m = 0; m < Members; m++)
                    {
                        double deviation = values[m * outputs + o] - average;
                        squares += deviation * deviation;
                    }

                    mean[s * outputs + o] = (float)average;
                    variance[s * outputs + o] = (float)(squares / Members);
                }
            }
        }
    }

    /// <summary>
    /// The ensemble's prediction (the members' mean, as <see cref="Predict"/> gives it) scored on <paramref name="data"/>:
    /// for a classifier the negative log of the mean probability of each sample's label as the loss, with accuracy,
    /// confusion matrix, expected calibration error and calibration bins of the mean probabilities; for a regressor the
    /// mean squared error of the mean outputs as the loss, with RMSE and R².
    /// </summary>
    public Evaluation Evaluate(Dataset data, int batchSize = 256)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ArgumentNullException.ThrowIfNull(data);
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
            Network.CheckDataset(Architecture, data, nameof(data));
            Network.CheckDataValues(Architecture, data, nameof(data));

            int inputSize = Architecture.InputSize, outputs = Architecture.OutputSize;
            ClassificationMetrics? classification = data.IsClassification ? new(outputs) : null;
            RegressionMetrics? regression = data.IsClassification ? null : new(data.Targets, outputs);
            var logMean = new float[outputs];
            var meanOutputs = new float[outputs];
            double lossSum = 0;
            for (int first = 0; first < data.Count; first += batchSize)
            {
                int batch = Math.Min(batchSize, data.Count - first);
                ReadOnlySpan<float> members = RunMembers(data.Features.Slice(first * inputSize, batch * inputSize), batch);
                for (int s = 0; s < batch; s++)
                {
                    ReadOnlySpan<float> sample = members.Slice(s * Members * outputs, Members * outputs);
                    if (classification is not null)
                    {
                        int label = data.Labels[first + s];
                        LogMeanProbabilities(sample, logMean);
                        lossSum -= logMean[label];
                        classification.Add(logMean, label);
                    }
                    else
                    {
                        ReadOnlySpan<float> targets = data.Targets.Slice((first + s) * outputs, outputs);
                        double squares = 0;
                        for (int o = 0; o < outputs; o++)
                        {
                            double sum = 0;
                            for (int m = 0; m < Members; m++)
                            {
                                sum += sample[m * outputs + o];
                            }

                            meanOutputs[o] = (float)(sum / Members);
                            squares += ((double)meanOutputs[o] - targets[o]) * ((double)meanOutputs[o] - targets[o]);
                        }

                        lossSum += squares / outputs;
                        regression!.Add(meanOutputs, targets);
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
    }

    /// <summary>
    /// Member <paramref name="index"/> as a network of its own, on the ensemble's backend, with its parameters now (not
    /// its momentum): <c>new TNetwork(seed: Seed + index)</c> trained as the ensemble trained it. The caller disposes it.
    /// </summary>
    public TNetwork Member(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Members);
        var memberParameters = new float[Architecture.ParameterCount];
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _engines.ReadMember(index, memberParameters);
        }

        TNetwork network = TNetwork.Create(Seed + index, Backend);
        try
        {
            network.SetParameters(memberParameters);
            return network;
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>Releases the backend's memory and threads.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (!_disposed)
            {
                _disposed = true;
                _engines.Dispose();
            }
        }
    }

    private float TrainBatchChecked(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, Optimizer optimizer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(optimizer);
        Network.CheckBatch(Architecture, inputs, labels, targets);
        Network.CheckFinite(inputs, nameof(inputs), "input");
        Network.CheckFinite(targets, nameof(targets), "target");
        return Step(inputs, labels, targets, optimizer, epoch: null, batchNumber: null);
    }

    /// <summary>One step of every member on checked values; returns the members' mean loss before it.</summary>
    private float Step(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, Optimizer optimizer, int? epoch, int? batchNumber)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            int batch = Network.CheckBatch(Architecture, inputs, labels, targets);
            StartOptimizerState(optimizer);
            float loss = _engines.TrainBatch(inputs, labels, targets, batch, optimizer.ToStep(optimizer.LearningRate, _optimizerSteps + 1));
            if (float.IsNaN(loss))
            {
                throw new TrainingDivergedException(epoch, batchNumber, LossBeforeStep(inputs, labels, targets, batch));
            }

            _optimizerSteps++;

            return loss / Members;
        }
    }

    private double TrainEpochInBatches(Dataset data, int[] order, Network.BatchBuffer batches, Optimizer optimizer, int epoch)
    {
        double lossSum = 0;
        int batchNumber = 0;
        for (int first = 0; first < data.Count; first += batches.Capacity)
        {
            int batch = batches.Gather(order.AsSpan(first, Math.Min(batches.Capacity, data.Count - first)));
            lossSum += (double)Step(batches.Inputs, batches.Labels, batches.Targets, optimizer, epoch, ++batchNumber) * batch;
        }

        return lossSum;
    }

    /// <summary>A classifier's epoch in one engine call (a GPU engine's): the labels serve every member as they are.</summary>
    private double TrainEpochOnEngine(IEpochTrainer trainer, Dataset data, int[] order, int batchSize, Optimizer optimizer, int epoch)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            StartOptimizerState(optimizer);
            float loss = trainer.TrainEpoch(data, order, batchSize, optimizer.ToStep(optimizer.LearningRate, _optimizerSteps + 1), out int failedBatch);
            _optimizerSteps += failedBatch >= 0 ? failedBatch : (data.Count + batchSize - 1) / batchSize;
            if (failedBatch >= 0)
            {
                int first = failedBatch * batchSize;
                Dataset failed = data.Select(order.AsSpan(first, Math.Min(batchSize, order.Length - first)));
                throw new TrainingDivergedException(epoch, failedBatch + 1, LossBeforeStep(failed.Features, failed.Labels, default, failed.Count));
            }

            return (double)loss / Members * data.Count;
        }
    }

    /// <summary>
    /// Before a step of <paramref name="optimizer"/>: unless the members' state already is its kind, starts it afresh
    /// (zero moments, no steps), as <see cref="Network"/> does.
    /// </summary>
    private void StartOptimizerState(Optimizer optimizer)
    {
        if (optimizer.StateKind == _optimizerState)
        {
            return;
        }

        _engines.ClearMoments(secondMoment: optimizer.StateKind == OptimizerStateKind.AdamMoments);

        (_optimizerState, _optimizerSteps) = (optimizer.StateKind, 0);
    }

    /// <summary>The members' mean loss on a batch under the parameters they hold: what a diverged step started from.</summary>
    private float LossBeforeStep(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, int batch) =>
        _engines.Loss(inputs, labels, targets, batch) / Members;

    /// <summary>Every member's outputs for a batch: n × Members × OutputSize, member after member within each sample.</summary>
    private ReadOnlySpan<float> RunMembers(ReadOnlySpan<float> inputs, int batch)
    {
        int length = batch * Members * Architecture.OutputSize;
        if (_outputs.Length < length)
        {
            _outputs = new float[length];
        }

        Span<float> outputs = _outputs.AsSpan(0, length);
        _engines.Predict(inputs, outputs, batch);
        return outputs;
    }

    /// <summary>One sample's per-member values: softmax probabilities of a classifier's outputs, a regressor's outputs as they are.</summary>
    private void MemberValues(ReadOnlySpan<float> sample, double[] values)
    {
        int outputs = Architecture.OutputSize;
        for (int m = 0; m < Members; m++)
        {
            ReadOnlySpan<float> member = sample.Slice(m * outputs, outputs);
            if (!Architecture.IsClassifier)
            {
                for (int o = 0; o < outputs; o++)
                {
                    values[m * outputs + o] = member[o];
                }

                continue;
            }

            double max = double.NegativeInfinity, sum = 0;
            foreach (float output in member)
            {
                max = Math.Max(max, output);
            }

            for (int o = 0; o < outputs; o++)
            {
                values[m * outputs + o] = Math.Exp(member[o] - max);
                sum += values[m * outputs + o];
            }

            for (int o = 0; o < outputs; o++)
            {
                values[m * outputs + o] /= sum;
            }
        }
    }

    /// <summary>
    /// log of the members' mean softmax probability per class, from their logits without forming a probability that could
    /// round to zero: log p̄_o = logsumexp_m (z_mo − logsumexp_o' z_mo') − log M.
    /// </summary>
    private void LogMeanProbabilities(ReadOnlySpan<float> sample, Span<float> logMean)
    {
        int outputs = Architecture.OutputSize;
        Span<double> normalizers = stackalloc double[Members];
        for (int m = 0; m < Members; m++)
        {
            ReadOnlySpan<float> member = sample.Slice(m * outputs, outputs);
            double max = double.NegativeInfinity, sum = 0;
            foreach (float output in member)
            {
                max = Math.Max(max, output);
            }

            foreach (float output in member)
            {
                sum += Math.Exp(output - max);
            }

            normalizers[m] = max + Math.Log(sum);
        }

        for (int o = 0; o < outputs; o++)
        {
            double max = double.NegativeInfinity, sum = 0;
            for (int m = 0; m < Members; m++)
            {
                max = Math.Max(max, sample[m * outputs + o] - normalizers[m]);
            }

            for (int m = 0; m < Members; m++)
            {
                sum += Math.Exp(sample[m * outputs + o] - normalizers[m] - max);
            }

            logMean[o] = (float)(max + Math.Log(sum) - Math.Log(Members));
        }
    }
}
