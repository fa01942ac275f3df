namespace FusedNets;

/// <summary>
/// The two interval rules every kind's reference takes one of, written once in terms of the kind's own
/// <see cref="LayerArchitecture.ReferenceForward"/> and <see cref="LayerArchitecture.ReferenceBackward"/>, so that the
/// bounds are exactly as right as the map they bound.
/// </summary>
/// <remarks>
/// Affine kinds (Gowal et al. 2018, eq. 6): with center c = (lo + hi) / 2 and radius r = (hi − lo) / 2, z lies in
/// μ ± ρ where μ = W c + b and ρ = |W| r. Monotone kinds (pooling): z's bounds are the map of each end.
/// </remarks>
internal static class ReferenceIntervals
{
    // lower, upper: (B, Inputs); zLower, zUpper: (B, Units)
    public static void AffineForward(LayerArchitecture layer, ReadOnlySpan<double> parameters, ReadOnlySpan<double> lower, ReadOnlySpan<double> upper, Span<double> zLower, Span<double> zUpper, int batch)
    {
        (double[] center, double[] radius) = CenterAndRadius(lower, upper);
        var mu = new double[zLower.Length];
        var rho = new double[zLower.Length];
        layer.ReferenceForward(parameters, center, mu, batch);
        layer.ReferenceForward(AbsoluteWeights(layer, parameters), radius, rho, batch);
        for (int i = 0; i < mu.Length; i++)
        {
            zLower[i] = mu[i] - rho[i];
            zUpper[i] = mu[i] + rho[i];
        }
    }

    // zLower = μ − ρ, zUpper = μ + ρ with μ = map(c), ρ = |map|(r), c = (lo + hi) / 2, r = (hi − lo) / 2.
    public static void AffineBackward(
        LayerArchitecture layer, ReadOnlySpan<double> parameters, ReadOnlySpan<double> lower, ReadOnlySpan<double> upper, ReadOnlySpan<double> dzLower, ReadOnlySpan<double> dzUpper,
        Span<double> dparameters, Span<double> dLower, Span<double> dUpper, int batch)
    {
        (double[] center, double[] radius) = CenterAndRadius(lower, upper);
        var dmu = new double[dzLower.Length];
        var drho = new double[dzLower.Length];
        for (int i = 0; i < dmu.Length; i++)
        {
            dmu[i] = dzLower[i] + dzUpper[i];
            drho[i] = dzUpper[i] - dzLower[i];
        }

        var dcenter = new double[center.Length];
        var dradius = new double[center.Length];
        var dabsolute = new double[parameters.Length];
        layer.ReferenceBackward(parameters, center, default, dmu, dparameters, dcenter, batch);
        layer.ReferenceBackward(AbsoluteWeights(layer, parameters), radius, default, drho, dabsolute, dradius, batch);

        // d|w|/dw = sign(w); the radius's map has no bias.
        for (int i = 0; i < layer.WeightCount; i++)
        {
            dparameters[i] += Math.Sign(parameters[i]) * dabsolute[i];
        }

        for (int i = 0; i < center.Length; i++)
        {
            dLower[i] = (dcenter[i] - dradius[i]) / 2;
            dUpper[i] = (dcenter[i] + dradius[i]) / 2;
        }
    }

    public static void MonotoneForward(LayerArchitecture layer, ReadOnlySpan<double> parameters, ReadOnlySpan<double> lower, ReadOnlySpan<double> upper, Span<double> zLower, Span<double> zUpper, int batch)
    {
        layer.ReferenceForward(parameters, lower, zLower, batch);
        layer.ReferenceForward(parameters, upper, zUpper, batch);
    }

    // zLower = map(lower), zUpper = map(upper).
    public static void MonotoneBackward(
        LayerArchitecture layer, ReadOnlySpan<double> parameters, ReadOnlySpan<double> lower, ReadOnlySpan<double> upper, ReadOnlySpan<double> dzLower, ReadOnlySpan<double> dzUpper,
        Span<double> dparameters, Span<double> dLower, Span<double> dUpper, int batch)
    {
        layer.ReferenceBackward(parameters, lower, default, dzLower, dparameters, dLower, batch);
        layer.ReferenceBackward(parameters, upper, default, dzUpper, dparameters, dUpper, batch);
    }

    private static (double[] Center, double[] Radius) CenterAndRadius(ReadOnlySpan<double> lower, ReadOnlySpan<double> upper)
    {
        var center = new double[lower.Length];
        var radius = new double[lower.Length];
        for (int i = 0; i < lower.Length; i++)
        {
            center[i] = (lower[i] + upper[i]) / 2;
            radius[i] = (upper[i] - lower[i]) / 2;
        }

        return (center, radius);
    }

    /// <summary>The layer's parameters with every weight made non-negative and the bias zero: the map x ↦ |W| x.</summary>
    private static double[] AbsoluteWeights(LayerArchitecture layer, ReadOnlySpan<double> parameters)
    {
        var absolute = new double[parameters.Length];
        for (int i = 0; i < layer.WeightCount; i++)
        {
            absolute[i] = Math.Abs(parameters[i]);
        }

        return absolute;
    }
}
