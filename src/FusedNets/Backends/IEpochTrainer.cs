using FusedNets.Data;

namespace FusedNets.Backends;

/// <summary>
/// An engine that trains a whole epoch in one call, without a host round trip per batch: GPU engines keep
/// the data set on the device and gather each batch there by index.
/// </summary>
internal interface IEpochTrainer
{
    /// <summary>
    /// One SGD step per batch of <paramref name="batchSize"/> samples, in <paramref name="order"/>; the last
    /// batch may be smaller. Returns the mean loss over the samples. When a batch's loss or update is not
    /// finite, training stops there: <paramref name="failedBatch"/> is that batch's index (else -1), and the
    /// parameters and momentum are those from before it.
    /// </summary>
    float TrainEpoch(Dataset data, ReadOnlySpan<int> order, int batchSize, SgdStep sgd, out int failedBatch);
}
