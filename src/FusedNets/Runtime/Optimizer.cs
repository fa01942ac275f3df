namespace FusedNets;

/// <summary>
/// How training turns a batch's gradients into parameter updates: <see cref="Sgd"/>, given to
/// <see cref="Network.Fit"/> and the generated <c>TrainBatch</c>. Each backend fuses the update rule into its
/// own kernels, so the optimizers are the library's: a class outside it cannot derive from this one.
/// </summary>
/// <remarks>
/// An optimizer holds hyperparameters only, and may be shared between networks. The state it updates
/// (momentum, for instance) lives in the network and is saved with <c>Save(path, includeMomentum: true)</c>.
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
    /// The value engines take for each step: these hyperparameters with <paramref name="learningRate"/> in place of
    /// <see cref="LearningRate"/>. Every engine takes an <see cref="SgdStep"/> today; an optimizer with another
    /// update rule brings its own step value and the kernels that apply it.
    /// </summary>
    internal abstract SgdStep ToStep(float learningRate);
}
