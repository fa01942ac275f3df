namespace FusedNets;

/// <summary>The choices the interval loss and certification make from a network's architecture alone.</summary>
internal static class IntervalLoss
{
    /// <summary>
    /// Whether logit differences are bounded through the last layer directly (the elision of Gowal et al. 2018): it must
    /// be dense with the identity, so that y_k − y_label is affine in its input. Otherwise they come from the bounds of the
    /// outputs, upper_k − lower_label, which are looser.
    /// </summary>
    public static bool Elides(NetworkArchitecture architecture) =>
        architecture.Layers[^1] is DenseLayerArchitecture { Activation: Activation.Identity };
}
