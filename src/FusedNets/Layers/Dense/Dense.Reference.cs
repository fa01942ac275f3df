namespace FusedNets;

// The dense layer in double precision, for the reference network (FusedNets.Reference.ReferenceNetwork).
public sealed partial record DenseLayerArchitecture
{
    // x: (B, In), W: (Out, In), b: (Out), z: (B, Out)
    internal override void ReferenceForward(ReadOnlySpan<double> parameters, ReadOnlySpan<double> x, Span<double> z, int batch)
    {
        int inputs = Inputs, units = Units;
        ReadOnlySpan<double> w = parameters[..(units * inputs)];
        ReadOnlySpan<double> b = parameters.Slice(units * inputs, units);
        for (int s = 0; s < batch; s++)
        {
            for (int o = 0; o < units; o++)
            {
                double sum = b[o];
                for (int i = 0; i < inputs; i++)
                {
                    sum += w[o * inputs + i] * x[s * inputs + i];
                }

                z[s * units + o] = sum;
            }
        }
    }

    // dz: (B, Out) in; dW: (Out, In) and db: (Out) accumulate; dx: (B, In) out.
    internal override void ReferenceBackward(ReadOnlySpan<double> parameters, ReadOnlySpan<double> x, ReadOnlySpan<double> z, ReadOnlySpan<double> dz, Span<double> dparameters, Span<double> dx, int batch)
    {
        int inputs = Inputs, units = Units;
        ReadOnlySpan<double> w = parameters[..(units * inputs)];
        Span<double> dw = dparameters[..(units * inputs)];
        Span<double> db = dparameters.Slice(units * inputs, units);
        dx.Clear();
        for (int s = 0; s < batch; s++)
        {
            for (int o = 0; o < units; o++)
            {
                // z[o] = b[o] + Σ_i W[o, i] x[i]
                double delta = dz[s * units + o];
                db[o] += delta;
                for (int i = 0; i < inputs; i++)
                {
                    dw[o * inputs + i] += delta * x[s * inputs + i];
                    dx[s * inputs + i] += w[o * inputs + i] * delta;
                }
            }
        }
    }

    // Affine: z in W c + b ± |W| r (ReferenceIntervals).
    internal override void ReferenceIntervalForward(ReadOnlySpan<double> parameters, ReadOnlySpan<double> lower, ReadOnlySpan<double> upper, Span<double> zLower, Span<double> zUpper, int batch) =>
        ReferenceIntervals.AffineForward(this, parameters, lower, upper, zLower, zUpper, batch);

    internal override void ReferenceIntervalBackward(
        ReadOnlySpan<double> parameters, ReadOnlySpan<double> lower, ReadOnlySpan<double> upper, ReadOnlySpan<double> dzLower, ReadOnlySpan<double> dzUpper,
        Span<double> dparameters, Span<double> dLower, Span<double> dUpper, int batch) =>
        ReferenceIntervals.AffineBackward(this, parameters, lower, upper, dzLower, dzUpper, dparameters, dLower, dUpper, batch);
}
