namespace FusedNets;

/// <summary>The L∞ boxes the robustness functions take around inputs, computed once here so every engine and the reference bound the same box.</summary>
internal static class IntervalBoxes
{
    /// <summary>
    /// [x − ε, x + ε] ∩ [clipMin, clipMax] for every value of <paramref name="inputs"/>. The float ends round outward (one
    /// float further out than x ∓ ε rounded to nearest), so the box holds every real point within ε of x.
    /// </summary>
    public static void Around(ReadOnlySpan<float> inputs, float epsilon, float clipMin, float clipMax, Span<float> lower, Span<float> upper)
    {
        for (int i = 0; i < inputs.Length; i++)
        {
            float x = inputs[i];
            lower[i] = epsilon == 0 ? x : MathF.Max(MathF.BitDecrement(x - epsilon), clipMin);
            upper[i] = epsilon == 0 ? x : MathF.Min(MathF.BitIncrement(x + epsilon), clipMax);
        }
    }

    /// <summary>
    /// Boxes of raw features (n × features, sample-major) as boxes of the standardized features a network with
    /// <see cref="NetworkArchitecture.StandardizesInput"/> computes from them, x' = (x − mean) / deviation at both ends:
    /// the map increases (deviation &gt; 0), and so does each of its float roundings, so the ends computed as the forward
    /// pass computes them bound every x' it computes from the box. <paramref name="outward"/> then moves each end four
    /// floats further out, so that it bounds the exact x' as well: the two roundings err by less than 3u |x'| (u = 2⁻²⁴),
    /// and four steps away from a float cover at least 4u of its magnitude, or all that underflow loses near zero.
    /// Certified training bounds without it, as it bounds layers without their margins.
    /// </summary>
    public static void Standardize(
        ReadOnlySpan<float> lower, ReadOnlySpan<float> upper, ReadOnlySpan<float> mean, ReadOnlySpan<float> deviation, bool outward,
        Span<float> standardizedLower, Span<float> standardizedUpper)
    {
        int features = mean.Length;
        for (int i = 0; i < lower.Length; i++)
        {
            int feature = i % features;
            float lo = (lower[i] - mean[feature]) / deviation[feature], hi = (upper[i] - mean[feature]) / deviation[feature];
            for (int step = 0; outward && step < 4; step++)
            {
                lo = MathF.BitDecrement(lo);
                hi = MathF.BitIncrement(hi);
            }

            standardizedLower[i] = lo;
            standardizedUpper[i] = hi;
        }
    }
}
