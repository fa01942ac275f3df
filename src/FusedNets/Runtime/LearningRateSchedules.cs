using System.Globalization;

namespace FusedNets;

/// <summary>
/// The learning rate of each epoch of <see cref="Network.Fit"/>, from the epoch and the optimizer's
/// <see cref="Optimizer.LearningRate"/>. A schedule is per epoch, as PyTorch's schedulers are in their usual
/// use (stepped once after each epoch): every step of an epoch takes that epoch's rate, and
/// <see cref="EpochReport.LearningRate"/> reports it.
/// </summary>
/// <remarks>
/// <para>
/// Epochs are counted from 0 here, as PyTorch's <c>last_epoch</c> counts them: Fit's epoch 1 is epoch 0 of the
/// schedule. A rate depends on the epoch alone, so a run resumed with <c>firstEpoch: 3</c> takes the rates that
/// epochs 3 onward of one long run would.
/// </para>
/// <para>
/// Derive from this class for a schedule of its own: Fit checks every epoch's rate (finite, at least 0) before
/// its first step.
/// </para>
/// </remarks>
public abstract class LearningRateSchedule
{
    /// <summary>The learning rate of <paramref name="epoch"/> (from 0) for an optimizer whose own rate is <paramref name="initialLearningRate"/>.</summary>
    public abstract float LearningRateAt(int epoch, float initialLearningRate);

    /// <summary>
    /// This schedule for the epochs before <paramref name="milestone"/>, then <paramref name="next"/>, started
    /// again from its epoch 0 at the milestone: PyTorch's <c>SequentialLR</c> with one milestone. Both start from
    /// the optimizer's rate. Chains: <c>a.Then(b, 5).Then(c, 20)</c> switches to <c>c</c> at epoch 20.
    /// </summary>
    public LearningRateSchedule Then(LearningRateSchedule next, int milestone) => new SequentialSchedule(this, next, milestone);

    /// <summary>
    /// The optimizer's rate as the decimal number it was written as (0.05f as 0.05, not 0.0500000007…): PyTorch
    /// computes its rates in double from the decimal values given, so the rates round to the same floats.
    /// </summary>
    private protected static double AsWritten(float learningRate) =>
        double.Parse(learningRate.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    private sealed class SequentialSchedule : LearningRateSchedule
    {
        private readonly LearningRateSchedule _first;
        private readonly LearningRateSchedule _next;
        private readonly int _milestone;

        public SequentialSchedule(LearningRateSchedule first, LearningRateSchedule next, int milestone)
        {
            ArgumentNullException.ThrowIfNull(next);
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(milestone);
            (_first, _next, _milestone) = (first, next, milestone);
        }

        public override float LearningRateAt(int epoch, float initialLearningRate) =>
            epoch < _milestone ? _first.LearningRateAt(epoch, initialLearningRate) : _next.LearningRateAt(epoch - _milestone, initialLearningRate);

        public override string ToString() => FormattableString.Invariant($"{_first}, then at epoch {_milestone} {_next}");
    }
}

/// <summary>
/// Multiplies the rate by <see cref="Gamma"/> every <see cref="StepSize"/> epochs: PyTorch's
/// <c>StepLR(step_size, gamma)</c>, η_t = η_0 · γ^⌊t / step_size⌋.
/// </summary>
public sealed class StepDecay : LearningRateSchedule
{
    /// <param name="stepSize">Epochs between decays, at least 1.</param>
    /// <param name="gamma">The factor of each decay, in (0, 1].</param>
    public StepDecay(int stepSize, double gamma = 0.1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stepSize);
        if (!(gamma > 0 && gamma <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "The decay factor must be in (0, 1].");
        }

        StepSize = stepSize;
        Gamma = gamma;
    }

    public int StepSize { get; }

    public double Gamma { get; }

    public override float LearningRateAt(int epoch, float initialLearningRate)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        return (float)(AsWritten(initialLearningRate) * Math.Pow(Gamma, epoch / StepSize));
    }

    public override string ToString() => FormattableString.Invariant($"StepDecay(stepSize={StepSize}, gamma={Gamma})");
}

/// <summary>
/// Lowers the rate along half a cosine, from the optimizer's η_0 at epoch 0 to <see cref="MinLearningRate"/> at
/// epoch <see cref="MaxEpochs"/>: PyTorch's <c>CosineAnnealingLR(T_max, eta_min)</c>,
/// η_t = η_min + (η_0 − η_min) · (1 + cos(π t / T_max)) / 2.
/// </summary>
/// <remarks>
/// Past <see cref="MaxEpochs"/> the cosine carries on, so the rate climbs back towards η_0, as PyTorch's does:
/// give the number of epochs trained (after any warm-up) as <c>maxEpochs</c>.
/// </remarks>
public sealed class CosineAnnealing : LearningRateSchedule
{
    /// <param name="maxEpochs">T_max: the epoch at which the rate reaches its minimum, at least 1.</param>
    /// <param name="minLearningRate">η_min: the lowest rate, finite and at least 0.</param>
    public CosineAnnealing(int maxEpochs, double minLearningRate = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxEpochs);
        if (!double.IsFinite(minLearningRate) || minLearningRate < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(minLearningRate), minLearningRate, "The minimum learning rate must be a finite number of at least 0.");
        }

        MaxEpochs = maxEpochs;
        MinLearningRate = minLearningRate;
    }

    public int MaxEpochs { get; }

    public double MinLearningRate { get; }

    public override float LearningRateAt(int epoch, float initialLearningRate)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        double min = MinLearningRate;
        return (float)(min + (AsWritten(initialLearningRate) - min) * (1 + Math.Cos(Math.PI * epoch / MaxEpochs)) / 2);
    }

    public override string ToString() => FormattableString.Invariant($"CosineAnnealing(maxEpochs={MaxEpochs}, minLearningRate={MinLearningRate})");
}

/// <summary>
/// Raises the rate linearly from <see cref="StartFactor"/> · η_0 at epoch 0 to <see cref="EndFactor"/> · η_0 at
/// epoch <see cref="Epochs"/>, and holds it there: PyTorch's <c>LinearLR(start_factor, end_factor, total_iters)</c>,
/// η_t = η_0 · (s + (e − s) · min(t, total_iters) / total_iters). Follow it with another schedule through
/// <see cref="Then(LearningRateSchedule)"/>.
/// </summary>
public sealed class LinearWarmup : LearningRateSchedule
{
    /// <param name="epochs">total_iters: the epochs the ramp takes, at least 1.</param>
    /// <param name="startFactor">The factor at epoch 0, in (0, 1] (PyTorch's default, 1/3).</param>
    /// <param name="endFactor">The factor from epoch <paramref name="epochs"/> on, in [0, 1].</param>
    public LinearWarmup(int epochs, double startFactor = 1.0 / 3, double endFactor = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(epochs);
        if (!(startFactor > 0 && startFactor <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(startFactor), startFactor, "The start factor must be in (0, 1].");
        }

        if (!(endFactor >= 0 && endFactor <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(endFactor), endFactor, "The end factor must be in [0, 1].");
        }

        Epochs = epochs;
        StartFactor = startFactor;
        EndFactor = endFactor;
    }

    public int Epochs { get; }

    public double StartFactor { get; }

    public double EndFactor { get; }

    public override float LearningRateAt(int epoch, float initialLearningRate)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        double factor = StartFactor + (EndFactor - StartFactor) * Math.Min(epoch, Epochs) / Epochs;
        return (float)(AsWritten(initialLearningRate) * factor);
    }

    /// <summary>
    /// This warm-up, then <paramref name="next"/> from its epoch 0 at epoch <see cref="Epochs"/>: PyTorch's
    /// <c>SequentialLR([LinearLR(...), next], milestones=[total_iters])</c>. The warm-up's last epoch is then at
    /// (s + (e − s)(total_iters − 1) / total_iters) · η_0, and <paramref name="next"/> starts at its own epoch 0.
    /// </summary>
    public LearningRateSchedule Then(LearningRateSchedule next) => Then(next, Epochs);

    public override string ToString() => FormattableString.Invariant($"LinearWarmup(epochs={Epochs}, startFactor={StartFactor}, endFactor={EndFactor})");
}
