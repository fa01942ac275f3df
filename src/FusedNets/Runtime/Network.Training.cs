using System.Diagnostics;
using FusedNets.Backends;
using FusedNets.Data;

namespace FusedNets;

// The training loop: epochs, shuffling, batching and the reports Fit gives.
public abstract partial class Network
{
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
}
