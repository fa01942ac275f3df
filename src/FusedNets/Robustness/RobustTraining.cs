namespace FusedNets;

/// <summary>
/// What <see cref="Network.Fit"/> trains a classifier to withstand beside its ordinary loss: <see cref="CertifiedTraining"/>
/// (provable robustness, Gowal et al. 2018) or <see cref="AdversarialTraining"/> (PGD examples, Madry et al. 2018).
/// </summary>
public abstract class RobustTraining
{
    private protected RobustTraining()
    {
    }

    private protected static void CheckClipRange(float clipMin, float clipMax)
    {
        if (float.IsNaN(clipMin) || float.IsNaN(clipMax) || clipMin > clipMax)
        {
            throw new ArgumentException(FormattableString.Invariant($"The clip range [{clipMin}, {clipMax}] is empty."), nameof(clipMin));
        }
    }

    private protected static void CheckEpsilon(float epsilon)
    {
        if (!float.IsFinite(epsilon) || epsilon < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "Epsilon must be a finite number of at least 0.");
        }
    }
}

/// <summary>
/// Certified training by interval bound propagation (Gowal et al. 2018, "On the Effectiveness of Interval Bound
/// Propagation for Training Verifiably Robust Models"): each step minimizes κ · L(z, y) + (1 − κ) · L(ẑ(ε), y), where
/// L is the cross-entropy, z the logits and ẑ(ε) the worst-case logit differences over the L∞ box of radius ε around
/// the input, bounded through the last layer (its elision) when it is dense with the identity.
/// </summary>
/// <remarks>
/// The ramps follow the paper: for the first <see cref="WarmupSteps"/> steps ε = 0 and κ = 1 (ordinary training), then
/// over <see cref="RampSteps"/> steps ε grows linearly to <see cref="Epsilon"/> and κ falls linearly to
/// <see cref="FinalKappa"/>, where both stay. Steps count the batches of the whole run from epoch 1, so a run resumed
/// with <c>firstEpoch</c> takes the values one long run would. Gowal et al. train MNIST with a warm-up of 2,000 and a
/// ramp of 10,000 steps of 100 samples, κ ending at 0.5, and ε_train = 0.2 for ε_test = 0.1 (1.1 to 2 times the
/// test radius, depending on the data set). Certified training runs on <see cref="Backend.Cpu"/>.
/// </remarks>
public sealed class CertifiedTraining : RobustTraining
{
    /// <param name="epsilon">The radius ε reached after the ramp.</param>
    /// <param name="rampSteps">Steps over which ε grows from 0 and κ falls from 1.</param>
    /// <param name="warmupSteps">Ordinary steps before the ramp.</param>
    /// <param name="finalKappa">The weight of the ordinary loss after the ramp, in [0, 1].</param>
    /// <param name="clipMin">The boxes are clipped to the data's range [clipMin, clipMax] (for images in [0, 1], 0 and 1).</param>
    /// <param name="clipMax">See <paramref name="clipMin"/>.</param>
    public CertifiedTraining(float epsilon, int rampSteps, int warmupSteps = 0, float finalKappa = 0.5f, float clipMin = float.NegativeInfinity, float clipMax = float.PositiveInfinity)
    {
        CheckEpsilon(epsilon);
        ArgumentOutOfRangeException.ThrowIfNegative(rampSteps);
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        if (!(finalKappa >= 0 && finalKappa <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(finalKappa), finalKappa, "κ must be in [0, 1].");
        }

        CheckClipRange(clipMin, clipMax);
        (Epsilon, RampSteps, WarmupSteps, FinalKappa, ClipMin, ClipMax) = (epsilon, rampSteps, warmupSteps, finalKappa, clipMin, clipMax);
    }

    public float Epsilon { get; }

    public int RampSteps { get; }

    public int WarmupSteps { get; }

    public float FinalKappa { get; }

    public float ClipMin { get; }

    public float ClipMax { get; }

    /// <summary>ε and κ of step <paramref name="step"/> (0 is the first batch of epoch 1).</summary>
    public (float Epsilon, float Kappa) At(long step)
    {
        if (step < WarmupSteps)
        {
            return (0, 1);
        }

        double progress = RampSteps == 0 ? 1 : Math.Min(1, (double)(step - WarmupSteps) / RampSteps);
        return ((float)(Epsilon * progress), (float)(1 - (1 - FinalKappa) * progress));
    }

    public override string ToString() => FormattableString.Invariant(
        $"CertifiedTraining(epsilon={Epsilon}, rampSteps={RampSteps}, warmupSteps={WarmupSteps}, finalKappa={FinalKappa}, clip=[{ClipMin}, {ClipMax}])");
}

/// <summary>
/// Adversarial training (Madry et al. 2018, "Towards Deep Learning Models Resistant to Adversarial Attacks"): each step
/// trains on PGD examples (<see cref="Robustness.Pgd"/>) of its batch, found against the current parameters.
/// </summary>
/// <remarks>Madry et al. train MNIST at ε = 0.3 with 40 steps of 0.01 from a random start; the defaults here are 10 steps of 2.5 ε / 10.</remarks>
public sealed class AdversarialTraining : RobustTraining
{
    /// <param name="epsilon">The L∞ radius of the attack.</param>
    /// <param name="steps">PGD steps per batch.</param>
    /// <param name="stepSize">Each step's size; null: 2.5 ε / steps, Madry et al.'s rule of thumb.</param>
    /// <param name="clipMin">The examples stay in the data's range [clipMin, clipMax].</param>
    /// <param name="clipMax">See <paramref name="clipMin"/>.</param>
    /// <param name="seed">Seeds the random starts (mixed with each step's number).</param>
    public AdversarialTraining(float epsilon, int steps = 10, float? stepSize = null, float clipMin = float.NegativeInfinity, float clipMax = float.PositiveInfinity, int seed = 0)
    {
        CheckEpsilon(epsilon);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(steps);
        float size = stepSize ?? 2.5f * epsilon / steps;
        if (!float.IsFinite(size) || size < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(stepSize), stepSize, "The step size must be a finite number of at least 0.");
        }

        CheckClipRange(clipMin, clipMax);
        (Epsilon, Steps, StepSize, ClipMin, ClipMax, Seed) = (epsilon, steps, size, clipMin, clipMax, seed);
    }

    public float Epsilon { get; }

    public int Steps { get; }

    public float StepSize { get; }

    public float ClipMin { get; }

    public float ClipMax { get; }

    public int Seed { get; }

    public override string ToString() => FormattableString.Invariant(
        $"AdversarialTraining(epsilon={Epsilon}, steps={Steps}, stepSize={StepSize}, clip=[{ClipMin}, {ClipMax}], seed={Seed})");
}
