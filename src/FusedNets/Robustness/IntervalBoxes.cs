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
}
