using FusedNets.Generated;

namespace FusedNets;

/// <summary>
/// Adam with PyTorch's update rule (<c>torch.optim.Adam</c>, bias correction included, <c>amsgrad</c> off), for the t-th
/// step of the network's optimizer state:
/// <code>
///   g = dL/dw + weightDecay · w                (weights; a bias takes g = dL/db)
///   m = β1 · m + (1 − β1) · g                  PyTorch's exp_avg
///   v = β2 · v + (1 − β2) · g²                 PyTorch's exp_avg_sq
///   w -= learningRate · m̂ / (√v̂ + ε),          m̂ = m / (1 − β1^t), v̂ = v / (1 − β2^t)
/// </code>
/// Weight decay applies to weights, not biases, as <see cref="Sgd"/>'s does (PyTorch decays every parameter of a group;
/// give biases a group with <c>weight_decay=0</c> there for the same rule). With the default weight decay of 0 the two
/// are the same. For decoupled weight decay use <see cref="AdamW"/>.
/// </summary>
/// <remarks>
/// The step count t, the moments m and v live in the network: <c>Save(path, includeMomentum: true)</c> saves them, and
/// training resumed from such a file continues bit for bit. The bias corrections are computed in double from the
/// hyperparameters as written (0.999f as 0.999), as PyTorch computes them from its Python floats.
/// </remarks>
public sealed class Adam : Optimizer
{
    private readonly AdamHyperparameters _hyperparameters;

    /// <param name="learningRate">γ, the step's size before bias correction.</param>
    /// <param name="beta1">β1, the decay of the first moment's running average, in [0, 1).</param>
    /// <param name="beta2">β2, the decay of the second moment's running average, in [0, 1).</param>
    /// <param name="epsilon">ε, added to √v̂; above 0, so that a parameter whose gradients were all 0 (a masked weight) steps by 0.</param>
    /// <param name="weightDecay">λ, the L2 penalty added to weights' gradients (not biases').</param>
    public Adam(float learningRate = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f, float weightDecay = 0f)
        : base(learningRate)
    {
        _hyperparameters = AdamHyperparameters.Checked(beta1, beta2, epsilon, weightDecay, decoupled: false);
    }

    public float Beta1 => _hyperparameters.Beta1;

    public float Beta2 => _hyperparameters.Beta2;

    public float Epsilon => _hyperparameters.Epsilon;

    public float WeightDecay => _hyperparameters.WeightDecay;

    internal override OptimizerStep ToStep(float learningRate, long count) => new(new AdamStep(_hyperparameters, learningRate, count), this, learningRate);

    internal override OptimizerStateKind StateKind => OptimizerStateKind.AdamMoments;

    public override string ToString() => FormattableString.Invariant(
        $"Adam(lr={LearningRate}, betas=({Beta1}, {Beta2}), eps={Epsilon}, weightDecay={WeightDecay})");
}

/// <summary>
/// Adam with decoupled weight decay, with PyTorch's update rule (<c>torch.optim.AdamW</c>): each step first shrinks every
/// weight, w -= learningRate · weightDecay · w, then takes <see cref="Adam"/>'s step without weight decay in the
/// gradient. Weight decay applies to weights, not biases, as <see cref="Sgd"/>'s and <see cref="Adam"/>'s do (PyTorch
/// decays every parameter of a group; give biases a group with <c>weight_decay=0</c> there for the same rule).
/// </summary>
/// <remarks>Its state is Adam's: a network trained with <see cref="Adam"/> goes on with AdamW from the same moments.</remarks>
public sealed class AdamW : Optimizer
{
    private readonly AdamHyperparameters _hyperparameters;

    /// <param name="learningRate">γ, the step's size before bias correction.</param>
    /// <param name="beta1">β1, the decay of the first moment's running average, in [0, 1).</param>
    /// <param name="beta2">β2, the decay of the second moment's running average, in [0, 1).</param>
    /// <param name="epsilon">ε, added to √v̂; above 0, so that a parameter whose gradients were all 0 (a masked weight) steps by 0.</param>
    /// <param name="weightDecay">λ: each step multiplies weights (not biases) by 1 − γλ. PyTorch's default, 0.01.</param>
    public AdamW(float learningRate = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f, float weightDecay = 0.01f)
        : base(learningRate)
    {
        _hyperparameters = AdamHyperparameters.Checked(beta1, beta2, epsilon, weightDecay, decoupled: true);
    }

    public float Beta1 => _hyperparameters.Beta1;

    public float Beta2 => _hyperparameters.Beta2;

    public float Epsilon => _hyperparameters.Epsilon;

    public float WeightDecay => _hyperparameters.WeightDecay;

    internal override OptimizerStep ToStep(float learningRate, long count) => new(new AdamStep(_hyperparameters, learningRate, count), this, learningRate);

    internal override OptimizerStateKind StateKind => OptimizerStateKind.AdamMoments;

    public override string ToString() => FormattableString.Invariant(
        $"AdamW(lr={LearningRate}, betas=({Beta1}, {Beta2}), eps={Epsilon}, weightDecay={WeightDecay})");
}

/// <summary>Adam's and AdamW's hyperparameters, checked, with the decimal values they were written as.</summary>
internal sealed record AdamHyperparameters(float Beta1, float Beta2, float Epsilon, float WeightDecay, bool Decoupled)
{
    public double Beta1AsWritten { get; } = Optimizer.AsWritten(Beta1);

    public double Beta2AsWritten { get; } = Optimizer.AsWritten(Beta2);

    public double WeightDecayAsWritten { get; } = Optimizer.AsWritten(WeightDecay);

    public static AdamHyperparameters Checked(float beta1, float beta2, float epsilon, float weightDecay, bool decoupled)
    {
        CheckBeta(beta1, nameof(beta1));
        CheckBeta(beta2, nameof(beta2));
        if (!float.IsFinite(epsilon) || epsilon <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon,
                "Epsilon must be a positive finite number: it keeps the step of a parameter whose gradients were all 0 (a masked weight) at 0 rather than 0/0.");
        }

        if (!float.IsFinite(weightDecay) || weightDecay < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "Weight decay must be a finite number of at least 0.");
        }

        return new AdamHyperparameters(beta1, beta2, epsilon, weightDecay, decoupled);

        static void CheckBeta(float beta, string name)
        {
            if (!float.IsFinite(beta) || beta < 0 || beta >= 1)
            {
                throw new ArgumentOutOfRangeException(name, beta, "Adam's betas must be in [0, 1).");
            }
        }
    }
}
