using System.Globalization;

namespace FusedNets;

/// <summary>
/// How training turns a batch's gradients into parameter updates: <see cref="Sgd"/>, <see cref="Adam"/> or
/// <see cref="AdamW"/>, given to <see cref="Network.Fit"/> and the generated <c>TrainBatch</c>. Each backend fuses the
/// update rule into its own kernels, so the optimizers are the library's: a class outside it cannot derive from this one.
/// </summary>
/// <remarks>
/// <para>
/// An optimizer holds hyperparameters only, and may be shared between networks. The state it updates (SGD's
/// momentum; Adam's moments and step count) lives in the network and is saved with
/// <c>Save(path, includeMomentum: true)</c>.
/// </para>
/// <para>
/// That state belongs to one kind of optimizer: SGD's velocity means nothing to Adam, nor Adam's moments to SGD. The
/// first step with an optimizer of the other kind (after training with, or loading the state of, the one) therefore
/// starts the new kind's state afresh, as a new PyTorch optimizer would: zero moments, step count 0. Optimizers of
/// the same kind (two <see cref="Sgd"/> with different rates, or <see cref="Adam"/> and <see cref="AdamW"/>) carry
/// the state on.
/// </para>
/// </remarks>
public abstract class Optimizer
{
    private protected Optimizer(float learningRate)
    {
        if (!float.IsFinite(learningRate) || learningRate <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "The learning rate must be a positive finite number.");
        }

        LearningRate = learningRate;
    }

    /// <summary>
    /// The rate every step takes, unless a <see cref="LearningRateSchedule"/> given to <see cref="Network.Fit"/>
    /// sets each epoch's rate; the schedule then starts from this one.
    /// </summary>
    public float LearningRate { get; }

    /// <summary>
    /// The value engines take for one step: these hyperparameters with <paramref name="learningRate"/> in place of
    /// <see cref="LearningRate"/>, for the <paramref name="count"/>-th step (from 1) of the network's optimizer state.
    /// Each optimizer brings its own <see cref="Generated.IUpdateRule"/>, which every backend's kernels apply.
    /// </summary>
    internal abstract OptimizerStep ToStep(float learningRate, long count);

    /// <summary>The kind of state this optimizer keeps in a network.</summary>
    internal abstract OptimizerStateKind StateKind { get; }

    /// <summary>
    /// A hyperparameter as the decimal number it was written as (0.9f as 0.9, not 0.899999976…), without allocating:
    /// PyTorch computes in double from the decimal values given, so derived values (rates, bias corrections) computed
    /// from these round to the floats PyTorch trains a float32 model with.
    /// </summary>
    internal static double AsWritten(float value)
    {
        Span<char> digits = stackalloc char[32];
        return value.TryFormat(digits, out int length, default, CultureInfo.InvariantCulture)
            ? double.Parse(digits[..length], NumberStyles.Float, CultureInfo.InvariantCulture)
            : value;
    }
}
