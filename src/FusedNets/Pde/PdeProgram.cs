using System.Collections.Immutable;
using System.ComponentModel;

namespace FusedNets.Generated;

/// <summary>
/// A physics-informed network's terms as the generator found them, and the call of each term's method: generated
/// code derives one per network with a <see cref="ResidualAttribute"/> method and passes it in its
/// <see cref="NetworkDefinition"/>. Every engine evaluates the terms through <see cref="Evaluate"/> with its own
/// number type.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public abstract class PdeProgram
{
    protected PdeProgram(params PdeTerm[] terms)
    {
        ArgumentNullException.ThrowIfNull(terms);
        Terms = [.. terms];
    }

    /// <summary>The residual first, then the conditions in declaration order.</summary>
    public ImmutableArray<PdeTerm> Terms { get; }

    /// <summary>
    /// Term <paramref name="term"/>'s method at point <paramref name="x"/>, given u and the derivatives the term reads
    /// (<paramref name="firstDerivatives"/> empty unless it reads du; <paramref name="secondDerivatives"/> its Laplacian
    /// or its second derivatives, or empty).
    /// </summary>
    public abstract TNumber Evaluate<TNumber>(int term, ReadOnlySpan<float> x, TNumber u, ReadOnlySpan<TNumber> firstDerivatives, ReadOnlySpan<TNumber> secondDerivatives)
        where TNumber : struct, IPdeNumber<TNumber>;
}
