namespace FusedNets;

/// <summary>
/// The margins that make interval bounds computed in float sound: each bound the kernels compute is widened by at
/// least the rounding error of computing it plus the rounding error any float forward pass can make on the same
/// layer, whatever the order of its sums and whether it fuses multiplies with adds. docs/research.md derives them.
/// </summary>
internal static class IntervalRounding
{
    /// <summary>u = 2⁻²⁴: one rounding to nearest changes a float by at most u times its value (while it stays normal).</summary>
    public const float Unit = 1f / (1 << 24);

    /// <summary>2⁻¹²⁶, the smallest normal float: covers what underflow can lose, which is absolute rather than relative.</summary>
    public const float SmallestNormal = 1.17549435e-38f;

    /// <summary>
    /// The relative margin of an affine output z = b + Σ w_i x_i over <paramref name="terms"/> products: its bounds move
    /// out by this times any S ≥ |b| + Σ |w_i| max(|lo_i|, |hi_i|) (computed in float), plus
    /// <see cref="AffineAbsolute"/> times 1 + Σ |w_i|. Bounding the center, the radius and the forward's sum each costs
    /// γ(n + 1) ≈ (n + 1) u of S; the centers, radii and the final additions a few u more.
    /// </summary>
    public static float AffineRelative(int terms) => (5f * terms + 10f) * Unit;

    /// <summary>The absolute part of an affine output's margin, per unit of 1 + Σ |w_i|: what underflow can lose.</summary>
    public static float AffineAbsolute(int terms) => (terms + 2f) * SmallestNormal;

    /// <summary>
    /// The relative margin of a mean over <paramref name="terms"/> values, times the largest magnitude of the window's
    /// bounds: two sums of that many terms (the bound's and the forward's) and the scaling by 1 / terms.
    /// </summary>
    public static float MeanRelative(int terms) => (3f * terms + 6f) * Unit;
}
