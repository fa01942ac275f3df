using System.Diagnostics;
using FusedNets.Backends;
using FusedNets.Data;

namespace FusedNets;

// The training loop: epochs, learning rates, shuffling, batching, progress, validation, early stopping and
// the reports Fit gives.
public abstract partial class Network
{
    /// <summary>
    /// The least time between two calls of Fit's <c>onProgress</c> within an epoch: often enough for a smooth
    /// progress bar, rarely enough that a slow callback (one that redraws a terminal) costs nothing measurable.
    /// Tests set it to zero to see every batch.
    /// </summary>
    internal TimeSpan ProgressInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Trains on the whole data set for <paramref name="epochs"/> epochs, numbered from
    /// <paramref name="firstEpoch"/>; the last batch of an epoch may be smaller. Each epoch visits the samples
    /// in an order drawn from (<paramref name="shuffleSeed"/>, epoch number) alone, so a run resumed from a
    /// saved model with <c>firstEpoch: 3</c> sees exactly the batches that epoch 3 of one long run would.
    /// A <paramref name="batchSize"/> larger than the data set is clamped to it: each epoch is then one batch.
    /// </summary>
    /// <param name="data">The training set.</param>
    /// <param name="optimizer">The update rule and its hyperparameters, such as <c>new Sgd(0.05f, momentum: 0.9f)</c>.</param>
    /// <param name="epochs">How many epochs to train (fewer when early stopping ends the run).</param>
    /// <param name="batchSize">Samples per step.</param>
    /// <param name="shuffleSeed">Seeds each epoch's order of the samples.</param>
    /// <param name="onEpoch">Called after each epoch (and its validation) with its report.</param>
    /// <param name="firstEpoch">The number of the first epoch: more than 1 to resume a run, for the same order of samples and learning rates.</param>
    /// <param name="schedule">
    /// Sets each epoch's learning rate from the optimizer's (<see cref="StepDecay"/>, <see cref="CosineAnnealing"/>,
    /// <see cref="LinearWarmup"/>); without one every epoch takes <see cref="Optimizer.LearningRate"/>.
    /// </param>
    /// <param name="validation">Evaluated after every epoch, outside the timed training, into <see cref="EpochReport.ValidationLoss"/> and <see cref="EpochReport.ValidationAccuracy"/>.</param>
    /// <param name="patience">
    /// Early stopping, with <paramref name="validation"/>: training ends once the validation loss has not gone below its
    /// lowest for this many epochs in a row, and the network is left with the parameters and momentum it had after its
    /// best epoch (the first with the lowest validation loss), also when the run ends without stopping early.
    /// Null: every epoch is trained and the network keeps its last parameters.
    /// </param>
    /// <param name="onProgress">
    /// Called within each epoch, at most every 100 ms and after its last batch, with the samples trained so far and their
    /// mean loss. On an engine that trains a whole epoch in one call (the GPU engines) it is called once per epoch, at its end.
    /// </param>
    /// <param name="robustTraining">
    /// Trains a classifier to withstand perturbations of its inputs as well: <see cref="CertifiedTraining"/> (interval bound
    /// propagation, Gowal et al. 2018; on <see cref="Backend.Cpu"/>) or <see cref="AdversarialTraining"/> (PGD examples,
    /// Madry et al. 2018). Null: ordinary training. The reports' loss is then the loss trained on.
    /// </param>
    /// <returns>One report per epoch trained.</returns>
    /// <remarks>
    /// The whole data set (and validation set) is checked before the first step (feature and target counts, labels
    /// in range, every value finite), as are the schedule's rates, so bad data leaves the network untouched. The
    /// data must not change while Fit runs.
    /// </remarks>
    /// <exception cref="TrainingDivergedException">A step went non-finite; the network keeps the last good step.</exception>
    public IReadOnlyList<EpochReport> Fit(
        Dataset data,
        Optimizer optimizer,
        int epochs,
        int batchSize = 32,
        int shuffleSeed = 0,
        Action<EpochReport>? onEpoch = null,
        int firstEpoch = 1,
        LearningRateSchedule? schedule = null,
        Dataset? validation = null,
        int? patience = null,
        Action<TrainingProgress>? onProgress = null,
        RobustTraining? robustTraining = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(epochs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(firstEpoch);
        if (firstEpoch > int.MaxValue - epochs + 1)
        {
            throw new ArgumentOutOfRangeException(nameof(epochs), epochs, $"Epochs {firstEpoch} to {firstEpoch}+{epochs}-1 run past epoch {int.MaxValue}.");
        }

        int lastEpoch = firstEpoch + epochs - 1;
        CheckDataset(data, nameof(data));
        CheckDataValues(data, nameof(data));
        CheckValidation(validation, patience);
        CheckRobustTraining(robustTraining, data);
        if (schedule is not null)
        {
            // A schedule is a function of the epoch: every rate of the run can be refused before anything changes.
            for (int epoch = firstEpoch; epoch <= lastEpoch; epoch++)
            {
                LearningRateOf(epoch, optimizer, schedule);
            }
        }

        batchSize = Math.Min(batchSize, data.Count);
        var batches = new BatchBuffer(data, batchSize);
        var order = new int[data.Count];
        var reports = new List<EpochReport>(epochs);
        EarlyStopping? earlyStopping = patience is { } epochsWithoutImprovement ? new(this, epochsWithoutImprovement) : null;

        for (int epoch = firstEpoch; epoch <= lastEpoch; epoch++)
        {
            float learningRate = LearningRateOf(epoch, optimizer, schedule);
            SgdStep step = optimizer.ToStep(learningRate);
            ShuffledOrder(order, shuffleSeed, epoch);
            var progress = new ProgressClock(epoch, lastEpoch, data.Count, onProgress, ProgressInterval);
            double lossSum = robustTraining is not null ? TrainEpochRobustly(robustTraining, data, order, batches, step, epoch, progress)
                : _engine is IEpochTrainer trainer ? TrainEpochOnEngine(trainer, data, order, batchSize, step, epoch, progress)
                : TrainEpochInBatches(data, order, batches, step, epoch, progress);
            TimeSpan elapsed = progress.Elapsed;

            Evaluation? validated = validation is null ? null : EvaluateDuringFit(validation);
            var report = new EpochReport(epoch, lastEpoch, (float)(lossSum / data.Count), data.Count / Math.Max(elapsed.TotalSeconds, 1e-9), elapsed)
            {
                LearningRate = learningRate,
                ValidationLoss = validated?.Loss,
                ValidationAccuracy = validated?.Accuracy,
            };
            reports.Add(report);
            onEpoch?.Invoke(report);
            if (earlyStopping is not null && earlyStopping.ShouldStop(epoch, report.ValidationLoss!.Value))
            {
                break;
            }
        }

        earlyStopping?.RestoreBest(reports[^1].Epoch);
        return reports;
    }

    /// <summary>The epoch's learning rate: the optimizer's, or the schedule's from it, refused unless finite and at least 0.</summary>
    private static float LearningRateOf(int epoch, Optimizer optimizer, LearningRateSchedule? schedule)
    {
        if (schedule is null)
        {
            return optimizer.LearningRate;
        }

        float rate = schedule.LearningRateAt(epoch - 1, optimizer.LearningRate);
        if (!float.IsFinite(rate) || rate < 0)
        {
            throw new ArgumentException(
                Invariant($"{schedule} gives epoch {epoch} a learning rate of {rate}: a learning rate must be a finite number of at least 0."), nameof(schedule));
        }

        return rate;
    }

    /// <summary>One epoch, one host-side batch at a time; returns the sum of the samples' losses.</summary>
    private double TrainEpochInBatches(Dataset data, int[] order, BatchBuffer batches, SgdStep step, int epoch, ProgressClock progress)
    {
        double lossSum = 0;
        int batchNumber = 0;
        for (int first = 0; first < data.Count; first += batches.Capacity)
        {
            int batch = batches.Gather(order.AsSpan(first, Math.Min(batches.Capacity, data.Count - first)));
            batchNumber++;
            float loss = TrainStep(batches.Inputs, batches.Labels, batches.Targets, step, epoch, batchNumber);
            lossSum += (double)loss * batch;
            progress.Trained(first + batch, lossSum);
        }

        return lossSum;
    }

    /// <summary>One epoch in one engine call; a diverged batch throws with the parameters from before it. Returns the sum of the samples' losses.</summary>
    private double TrainEpochOnEngine(IEpochTrainer trainer, Dataset data, int[] order, int batchSize, SgdStep step, int epoch, ProgressClock progress)
    {
        float loss;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            PrepareEngine();
            loss = trainer.TrainEpoch(data, order, batchSize, step, out int failedBatch);
            _hostParametersStale = true;
            if (failedBatch >= 0)
            {
                int first = failedBatch * batchSize;
                Dataset failed = data.Select(order.AsSpan(first, Math.Min(batchSize, order.Length - first)));
                throw new TrainingDivergedException(epoch, failedBatch + 1, LossBeforeStep(failed.Features, failed.Labels, failed.Targets, failed.Count));
            }
        }

        double lossSum = (double)loss * data.Count;
        progress.Trained(data.Count, lossSum);
        return lossSum;
    }

    private Evaluation EvaluateDuringFit(Dataset validation)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return EvaluateChecked(validation, EvaluationBatchSize);
        }
    }

    /// <summary>
    /// Fills <paramref name="order"/> with a permutation of 0..n-1 that depends on nothing but
    /// <paramref name="shuffleSeed"/> and <paramref name="epoch"/>. Tests replay Fit's batches from it.
    /// </summary>
    internal static void ShuffledOrder(int[] order, int shuffleSeed, int epoch)
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

    /// <summary>One batch gathered from the data set in shuffled order, into arrays reused for every batch of a run.</summary>
    private sealed class BatchBuffer
    {
        private readonly Dataset _data;
        private readonly float[] _inputs;
        private readonly int[] _labels;
        private readonly float[] _targets;
        private int _count;

        public BatchBuffer(Dataset data, int capacity)
        {
            _data = data;
            Capacity = capacity;
            _inputs = new float[capacity * data.FeatureCount];
            _labels = new int[data.IsClassification ? capacity : 0];
            _targets = new float[capacity * data.TargetCount];
        }

        public int Capacity { get; }

        public ReadOnlySpan<float> Inputs => _inputs.AsSpan(0, _count * _data.FeatureCount);

        /// <summary>The batch's labels; empty for a regression set.</summary>
        public ReadOnlySpan<int> Labels => _labels.AsSpan(0, _data.IsClassification ? _count : 0);

        /// <summary>The batch's targets; empty for a classification set.</summary>
        public ReadOnlySpan<float> Targets => _targets.AsSpan(0, _count * _data.TargetCount);

        /// <summary>Copies the <paramref name="samples"/> in; returns how many there are.</summary>
        public int Gather(ReadOnlySpan<int> samples)
        {
            int inputSize = _data.FeatureCount, targetSize = _data.TargetCount;
            for (int i = 0; i < samples.Length; i++)
            {
                int sample = samples[i];
                _data.FeaturesOf(sample).CopyTo(_inputs.AsSpan(i * inputSize));
                if (_data.IsClassification)
                {
                    _labels[i] = _data.Labels[sample];
                }
                else
                {
                    _data.Targets.Slice(sample * targetSize, targetSize).CopyTo(_targets.AsSpan(i * targetSize));
                }
            }

            _count = samples.Length;
            return _count;
        }
    }

    /// <summary>
    /// Times one epoch and tells <c>onProgress</c> how far it has come: after a batch once the interval has passed
    /// since the last call, and always after the epoch's last sample. Without a callback it only times the epoch.
    /// </summary>
    private sealed class ProgressClock
    {
        private readonly int _epoch;
        private readonly int _epochs;
        private readonly int _epochSamples;
        private readonly Action<TrainingProgress>? _onProgress;
        private readonly long _intervalTicks;
        private readonly long _start;
        private long _end;
        private long _due;

        /// <summary>Starts the epoch's clock.</summary>
        public ProgressClock(int epoch, int epochs, int epochSamples, Action<TrainingProgress>? onProgress, TimeSpan interval)
        {
            (_epoch, _epochs, _epochSamples, _onProgress) = (epoch, epochs, epochSamples, onProgress);
            _intervalTicks = (long)(interval.TotalSeconds * Stopwatch.Frequency);
            _start = Stopwatch.GetTimestamp();
            _due = _start + _intervalTicks;
        }

        /// <summary>The time from the epoch's start to its last sample.</summary>
        public TimeSpan Elapsed => Stopwatch.GetElapsedTime(_start, _end);

        /// <param name="samples">Samples of the epoch trained so far.</param>
        /// <param name="lossSum">The sum of their losses.</param>
        public void Trained(int samples, double lossSum)
        {
            bool epochDone = samples == _epochSamples;

            // Without a callback only the epoch's end needs the clock.
            if (_onProgress is null && !epochDone)
            {
                return;
            }

            long now = Stopwatch.GetTimestamp();
            if (epochDone)
            {
                _end = now;
            }

            if (_onProgress is not null && (epochDone || now >= _due))
            {
                _onProgress(new TrainingProgress(_epoch, _epochs, samples, _epochSamples, (float)(lossSum / samples), Stopwatch.GetElapsedTime(_start, now)));

                // Counted from the callback's return, so a callback slower than the interval still leaves the training most of the time.
                _due = Stopwatch.GetTimestamp() + _intervalTicks;
            }
        }
    }

    /// <summary>
    /// Watches the validation loss: remembers the parameters and momentum after the best epoch, says when
    /// <c>patience</c> epochs have passed without improvement, and goes back to the best at the end.
    /// </summary>
    private sealed class EarlyStopping(Network network, int patience)
    {
        private readonly TrainingState _best = new(network.Architecture.ParameterCount);
        private float _bestLoss = float.PositiveInfinity;
        private int _bestEpoch;
        private int _epochsWithoutImprovement;

        /// <summary>Records an epoch's validation loss; true once training should stop.</summary>
        public bool ShouldStop(int epoch, float validationLoss)
        {
            // Strictly lower, as Keras' EarlyStopping with min_delta 0: a tie keeps the earlier epoch, and NaN never improves.
            if (validationLoss < _bestLoss)
            {
                _bestLoss = validationLoss;
                _bestEpoch = epoch;
                _epochsWithoutImprovement = 0;
                network.CaptureTrainingState(_best);
                return false;
            }

            return ++_epochsWithoutImprovement >= patience;
        }

        /// <summary>Leaves the network as it was after the best epoch, unless that was the last one trained (or none improved).</summary>
        public void RestoreBest(int lastEpochTrained)
        {
            if (_bestEpoch != 0 && _bestEpoch != lastEpochTrained)
            {
                network.RestoreTrainingState(_best);
            }
        }
    }
}
