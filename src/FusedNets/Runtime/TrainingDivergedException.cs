using System.Globalization;

namespace FusedNets;

/// <summary>
/// A training step went non-finite: the batch's loss, or a parameter or momentum the step would have written,
/// was NaN or infinite. The step is dropped, so the network holds the parameters and momentum of the last good
/// step, and training can resume from there (with a smaller learning rate, or cleaner data).
/// </summary>
public sealed class TrainingDivergedException : InvalidOperationException
{
    public TrainingDivergedException(int? epoch, int? batch, float loss)
        : base(Describe(epoch, batch, loss))
    {
        Epoch = epoch;
        Batch = batch;
        Loss = loss;
    }

    /// <summary>The epoch of the failed step, when it was taken by <see cref="Network.Fit"/>.</summary>
    public int? Epoch { get; }

    /// <summary>The failed step's batch within its epoch, from 1, when it was taken by <see cref="Network.Fit"/>.</summary>
    public int? Batch { get; }

    /// <summary>The batch's mean loss under the parameters the network still holds: non-finite, or finite when the update itself overflowed.</summary>
    public float Loss { get; }

    private static string Describe(int? epoch, int? batch, float loss)
    {
        string where = epoch is { } e && batch is { } b
            ? string.Create(CultureInfo.InvariantCulture, $"Training diverged in epoch {e}, batch {b}")
            : "Training diverged";
        string why = float.IsFinite(loss)
            ? string.Create(CultureInfo.InvariantCulture, $"the batch's loss was {loss}, but the step would have made a parameter or its momentum infinite or NaN")
            : string.Create(CultureInfo.InvariantCulture, $"the batch's loss was {loss}");
        return $"{where}: {why}. The step was dropped; the network keeps the parameters and momentum of the last good step. "
            + "Try a smaller learning rate, or check the data for extreme values.";
    }
}
