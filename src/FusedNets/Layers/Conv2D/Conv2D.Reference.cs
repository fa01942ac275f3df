namespace FusedNets;

// The convolution in double precision, for the reference network: the definition, loop for loop.
public sealed partial record Conv2DLayerArchitecture
{
    // x: (B, C, H, W), W: (F, C, K, K), b: (F), z: (B, F, OH, OW)
    internal override void ReferenceForward(ReadOnlySpan<double> parameters, ReadOnlySpan<double> x, Span<double> z, int batch)
    {
        (int channels, int height, int width) = InputShape;
        (int filters, int outHeight, int outWidth) = OutputShape;
        int k = Kernel;
        ReadOnlySpan<double> w = parameters[..WeightCount];
        ReadOnlySpan<double> b = parameters.Slice(WeightCount, filters);
        for (int s = 0; s < batch; s++)
        {
            for (int f = 0; f < filters; f++)
            {
                for (int oy = 0; oy < outHeight; oy++)
                {
                    for (int ox = 0; ox < outWidth; ox++)
                    {
                        double sum = b[f];
                        for (int c = 0; c < channels; c++)
                        {
                            for (int i = 0; i < k; i++)
                            {
                                for (int j = 0; j < k; j++)
                                {
                                    int iy = oy * Stride + i - Padding, ix = ox * Stride + j - Padding;
                                    if (iy >= 0 && iy < height && ix >= 0 && ix < width)
                                    {
                                        sum += w[((f * channels + c) * k + i) * k + j] * x[((s * channels + c) * height + iy) * width + ix];
                                    }
                                }
                            }
                        }

                        z[((s * filters + f) * outHeight + oy) * outWidth + ox] = sum;
                    }
                }
            }
        }
    }

    // dz: (B, F, OH, OW) in; dW: (F, C, K, K) and db: (F) accumulate; dx: (B, C, H, W) out.
    internal override void ReferenceBackward(ReadOnlySpan<double> parameters, ReadOnlySpan<double> x, ReadOnlySpan<double> z, ReadOnlySpan<double> dz, Span<double> dparameters, Span<double> dx, int batch)
    {
        (int channels, int height, int width) = InputShape;
        (int filters, int outHeight, int outWidth) = OutputShape;
        int k = Kernel;
        ReadOnlySpan<double> w = parameters[..WeightCount];
        Span<double> dw = dparameters[..WeightCount];
        Span<double> db = dparameters.Slice(WeightCount, filters);
        dx.Clear();
        for (int s = 0; s < batch; s++)
        {
            for (int f = 0; f < filters; f++)
            {
                for (int oy = 0; oy < outHeight; oy++)
                {
                    for (int ox = 0; ox < outWidth; ox++)
                    {
                        // z[f, oy, ox] = b[f] + Σ_{c, i, j} W[f, c, i, j] x[c, oy·S + i − P, ox·S + j − P]
                        double delta = dz[((s * filters + f) * outHeight + oy) * outWidth + ox];
                        db[f] += delta;
                        for (int c = 0; c < channels; c++)
                        {
                            for (int i = 0; i < k; i++)
                            {
                                for (int j = 0; j < k; j++)
                                {
                                    int iy = oy * Stride + i - Padding, ix = ox * Stride + j - Padding;
                                    if (iy >= 0 && iy < height && ix >= 0 && ix < width)
                                    {
                                        int weight = ((f * channels + c) * k + i) * k + j;
                                        int input = ((s * channels + c) * height + iy) * width + ix;
                                        dw[weight] += delta * x[input];
                                        dx[input] += w[weight] * delta;
                                    }
                                }
                            }
                        }
                    }
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
