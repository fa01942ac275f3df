namespace FusedNets;

/// <summary>
/// Stochastic gradient descent with optional momentum, Nesterov momentum and weight decay, with PyTorch's
/// update rule: g = dL/dw + weightDecay * w; v = momentum * v + g; w -= learningRate * (nesterov ? g + momentum * v : v).
/// Weight decay applies to weights, not biases.
/// </summary>
public sealed class Sgd : Optimizer
{
    public Sgd(float learningRate, float momentum = 0, bool nesterov = false, float weightDecay = 0)
        : base(learningRate)
    {
        if (!float.IsFinite(momentum) || momentum < 0 || momentum >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "Momentum must be in [0, 1).");
        }

        if (nesterov && momentum == 0)
        {
            throw new ArgumentException("Nesterov momentum needs a momentum above 0.", nameof(nesterov));
        }

        if (!float.IsFinite(weightDecay) || weightDecay < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "Weight decay must be a finite number of at least 0.");
        }

        Momentum = momentum;
        Nesterov = nesterov;
        WeightDecay = weightDecay;
    }

    public float Momentum { get; }

    public bool Nesterov { get; }

    public float WeightDecay { get; }

    /// <summary>The hyperparameters as the value type that kernels take.</summary>
    public SgdStep ToStep() => ToStep(LearningRate);

    internal override SgdStep ToStep(float learningRate) => new(learningRate, Momentum, WeightDecay, Nesterov ? 1 : 0);

    public override string ToString() => FormattableString.Invariant(
        $"Sgd(lr={LearningRate}, momentum={Momentum}, nesterov={Nesterov}, weightDecay={WeightDecay})");
}

/// <summary>
/// One SGD step's hyperparameters, passed by value into kernels, and the update rule itself: the one place
/// every backend takes it from.
/// </summary>
public readonly struct SgdStep
{
    public readonly float LearningRate;
    public readonly float Momentum;
    public readonly float WeightDecay;

    /// <summary>1 for Nesterov momentum, else 0 (an int, because kernels take blittable values).</summary>
    public readonly int Nesterov;

    public SgdStep(float learningRate, float momentum, float weightDecay, int nesterov)
    {
        LearningRate = learningRate;
        Momentum = momentum;
        WeightDecay = weightDecay;
        Nesterov = nesterov;
    }

    /// <summary>
    /// Updates one weight from its loss gradient: adds weight decay, then momentum.
    /// Returns the new weight and leaves the new velocity in <paramref name="velocity"/>.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public float UpdateWeight(float weight, ref float velocity, float gradient) =>
        UpdateBias(weight, ref velocity, gradient + WeightDecay * weight);

    /// <summary>Updates one bias from its loss gradient: momentum without weight decay.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public float UpdateBias(float bias, ref float velocity, float gradient)
    {
        velocity = Momentum * velocity + gradient;
        float step = Nesterov != 0 ? gradient + Momentum * velocity : velocity;
        return bias - LearningRate * step;
    }
}
