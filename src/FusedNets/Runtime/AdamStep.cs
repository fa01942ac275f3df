using System.ComponentModel;
using System.Runtime.CompilerServices;

namespace FusedNets.Generated;

/// <summary>
/// One Adam (or AdamW) step, passed by value into kernels, and its update rule: the hyperparameters as given, the step
/// count t, and what PyTorch derives from them in double for step t, each rounded once to float. See <see cref="Adam"/>
/// for the rule; <see cref="IUpdateRule"/> for how backends apply it.
/// </summary>
/// <remarks>Public only because ILGPU's launchers, emitted at run time, name the kernels' parameter types.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct AdamStep : IUpdateRule
{
    public readonly float LearningRate;
    public readonly float Beta1;
    public readonly float Beta2;
    public readonly float Epsilon;
    public readonly float WeightDecay;

    /// <summary>1 for AdamW's decoupled weight decay, 0 for Adam's L2 penalty (an int, because kernels take blittable values).</summary>
    public readonly int Decoupled;

    /// <summary>t, from 1: which step of the network's Adam state this is.</summary>
    public readonly long Step;

    /// <summary>1 − β1 and 1 − β2, as PyTorch computes them from its Python floats.</summary>
    public readonly float OneMinusBeta1, OneMinusBeta2;

    /// <summary>γ / (1 − β1^t): PyTorch's <c>step_size</c>.</summary>
    public readonly float StepSize;

    /// <summary>√(1 − β2^t): PyTorch's <c>bias_correction2_sqrt</c>.</summary>
    public readonly float BiasCorrection2Sqrt;

    /// <summary>What a weight's gradient gains per unit of weight: Adam's λ, AdamW's 0.</summary>
    public readonly float L2Penalty;

    /// <summary>What a weight is multiplied by before the step: AdamW's 1 − γλ, Adam's 1.</summary>
    public readonly float DecayFactor;

    internal AdamStep(AdamHyperparameters hyperparameters, float learningRate, long step)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(step);
        (Beta1, Beta2, Epsilon, WeightDecay) = (hyperparameters.Beta1, hyperparameters.Beta2, hyperparameters.Epsilon, hyperparameters.WeightDecay);
        (LearningRate, Decoupled, Step) = (learningRate, hyperparameters.Decoupled ? 1 : 0, step);

        double rate = Optimizer.AsWritten(learningRate), beta1 = hyperparameters.Beta1AsWritten, beta2 = hyperparameters.Beta2AsWritten;
        OneMinusBeta1 = (float)(1 - beta1);
        OneMinusBeta2 = (float)(1 - beta2);
        StepSize = (float)(rate / (1 - Math.Pow(beta1, step)));
        BiasCorrection2Sqrt = (float)Math.Sqrt(1 - Math.Pow(beta2, step));
        L2Penalty = hyperparameters.Decoupled ? 0 : WeightDecay;
        DecayFactor = hyperparameters.Decoupled ? (float)(1 - rate * hyperparameters.WeightDecayAsWritten) : 1;
    }

    /// <summary>Adam keeps a second moment per parameter.</summary>
    public static bool HasSecondMoment => true;

    /// <summary>One weight: weight decay (L2 or decoupled), then the Adam step. Updates m and v in place.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float UpdateWeight(float weight, ref float moment, ref float secondMoment, float gradient) =>
        UpdateBias(weight * DecayFactor, ref moment, ref secondMoment, gradient + L2Penalty * weight);

    /// <summary>One bias: the Adam step without weight decay. Updates m and v in place.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float UpdateBias(float bias, ref float moment, ref float secondMoment, float gradient)
    {
        moment = Beta1 * moment + OneMinusBeta1 * gradient;
        secondMoment = Beta2 * secondMoment + OneMinusBeta2 * gradient * gradient;
        float denominator = MathF.Sqrt(secondMoment) / BiasCorrection2Sqrt + Epsilon;
        return bias - StepSize * (moment / denominator);
    }

    /// <summary>
    /// <see cref="UpdateWeight(float, ref float, ref float, float)"/> on every lane at once: the same operations in the
    /// same order (square root and division are correctly rounded at every width), so each lane gives the scalar bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVector UpdateWeight<TVector, TOps>(TVector weight, ref TVector moment, ref TVector secondMoment, TVector gradient)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        gradient = TOps.Add(gradient, TOps.Multiply(TOps.Broadcast(L2Penalty), weight));
        weight = TOps.Multiply(weight, TOps.Broadcast(DecayFactor));
        moment = TOps.Add(TOps.Multiply(TOps.Broadcast(Beta1), moment), TOps.Multiply(TOps.Broadcast(OneMinusBeta1), gradient));
        secondMoment = TOps.Add(TOps.Multiply(TOps.Broadcast(Beta2), secondMoment), TOps.Multiply(TOps.Multiply(TOps.Broadcast(OneMinusBeta2), gradient), gradient));
        TVector denominator = TOps.Add(TOps.Divide(TOps.Sqrt(secondMoment), TOps.Broadcast(BiasCorrection2Sqrt)), TOps.Broadcast(Epsilon));
        return TOps.Subtract(weight, TOps.Multiply(TOps.Broadcast(StepSize), TOps.Divide(moment, denominator)));
    }
}
