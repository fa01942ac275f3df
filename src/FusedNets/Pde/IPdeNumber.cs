namespace FusedNets;

/// <summary>
/// The numbers a residual or condition is written in: <c>static T Residual&lt;T&gt;(ReadOnlySpan&lt;float&gt; x, T u, ...)
/// where T : IPdeNumber&lt;T&gt;</c>. FusedNets evaluates the method with number types of its own, which record every
/// operation, so each evaluation also gives the exact derivatives of the result with respect to u and u's derivatives:
/// the training needs them, and nobody writes them by hand.
/// </summary>
/// <remarks>
/// Everything that depends on u goes through <typeparamref name="TSelf"/>; the point x and whatever is computed from it
/// alone are plain floats, which convert implicitly: <c>-laplacian - Source(x)</c>, <c>2 * u * du[0]</c>. A double
/// (<c>Math.PI</c>) needs a cast to float first.
/// </remarks>
/// <typeparam name="TSelf">The number type itself.</typeparam>
public interface IPdeNumber<TSelf>
    where TSelf : IPdeNumber<TSelf>
{
    /// <summary>The number's value, for branching (<c>u.Value &gt; 0</c>); a comparison carries no derivative.</summary>
    double Value { get; }

    /// <summary>A constant: derivatives are zero.</summary>
    static abstract implicit operator TSelf(float constant);

    static abstract TSelf operator +(TSelf left, TSelf right);

    static abstract TSelf operator -(TSelf left, TSelf right);

    static abstract TSelf operator *(TSelf left, TSelf right);

    static abstract TSelf operator /(TSelf left, TSelf right);

    static abstract TSelf operator -(TSelf value);

    static abstract TSelf Sin(TSelf x);

    static abstract TSelf Cos(TSelf x);

    static abstract TSelf Exp(TSelf x);

    static abstract TSelf Log(TSelf x);

    static abstract TSelf Sqrt(TSelf x);

    static abstract TSelf Tanh(TSelf x);

    /// <summary>|x|, whose derivative at 0 is taken as 0 (as PyTorch's).</summary>
    static abstract TSelf Abs(TSelf x);

    /// <summary>x raised to a constant power.</summary>
    static abstract TSelf Pow(TSelf x, float exponent);
}
