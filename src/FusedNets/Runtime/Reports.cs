namespace FusedNets;

/// <summary>What one epoch of <see cref="Network.Fit"/> did.</summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="Epochs">The last epoch of the run: its number of epochs, unless it resumed at a later first epoch.</param>
/// <param name="Loss">The mean training loss over the epoch's samples, each measured before its step.</param>
/// <param name="SamplesPerSecond">Training throughput over the epoch.</param>
/// <param name="Elapsed">Wall-clock time of the epoch.</param>
public readonly record struct EpochReport(int Epoch, int Epochs, float Loss, double SamplesPerSecond, TimeSpan Elapsed);

/// <summary>A network's loss over a data set, and for classifiers the fraction of samples whose largest output is the label.</summary>
public readonly record struct Evaluation(float Loss, float? Accuracy, int Count);
