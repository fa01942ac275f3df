using FusedNets.Generated;

namespace FusedNets;

/// <summary>What a loss compares a network's outputs with.</summary>
public enum LossTarget
{
    /// <summary>One integer class in [0, OutputSize) per sample: the network is a classifier.</summary>
    ClassLabels,

    /// <summary>OutputSize floats per sample: the network is a regressor.</summary>
    FloatTargets,
}

/// <summary>A loss in double precision, for the reference network: per-sample value and gradient, written to be obviously right.</summary>
internal abstract class ReferenceLoss
{
    /// <summary>The sample's loss given its outputs and its label or targets.</summary>
    public abstract double Value(ReadOnlySpan<double> y, int label, ReadOnlySpan<double> targets);

    /// <summary>dLoss/dy of the sample's loss (not yet divided by the batch).</summary>
    public abstract void Gradient(ReadOnlySpan<double> y, int label, ReadOnlySpan<double> targets, Span<double> dy);
}

/// <summary>Calls back with the <see cref="ILossKernel"/> type of a <see cref="Loss"/> value.</summary>
internal interface ILossVisitor
{
    void Visit<TLoss>()
        where TLoss : struct, ILossKernel;
}

/// <summary>The table of losses: adding one means an enum member, its file, and a line in each switch here.</summary>
internal static class Losses
{
    public static LossTarget TargetOf(Loss loss) => loss switch
    {
        Loss.SoftmaxCrossEntropy => SoftmaxCrossEntropyLoss.Target,
        Loss.MeanSquaredError => MeanSquaredErrorLoss.Target,
        _ => throw new ArgumentOutOfRangeException(nameof(loss), loss, "Unknown loss."),
    };

    public static ReferenceLoss Reference(Loss loss) => loss switch
    {
        Loss.SoftmaxCrossEntropy => new SoftmaxCrossEntropyLoss.ReferenceRule(),
        Loss.MeanSquaredError => new MeanSquaredErrorLoss.ReferenceRule(),
        _ => throw new ArgumentOutOfRangeException(nameof(loss), loss, "Unknown loss."),
    };

    /// <summary>Turns a runtime <paramref name="loss"/> into a type argument.</summary>
    public static void Dispatch<TVisitor>(Loss loss, ref TVisitor visitor)
        where TVisitor : struct, ILossVisitor
    {
        switch (loss)
        {
            case Loss.SoftmaxCrossEntropy: visitor.Visit<SoftmaxCrossEntropyLoss>(); break;
            case Loss.MeanSquaredError: visitor.Visit<MeanSquaredErrorLoss>(); break;
            default: throw new ArgumentOutOfRangeException(nameof(loss), loss, "Unknown loss.");
        }
    }
}
