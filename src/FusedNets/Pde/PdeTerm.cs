using System.Collections.Immutable;

namespace FusedNets;

/// <summary>Whether a term is the equation itself or one of its conditions.</summary>
public enum PdeTermKind
{
    /// <summary>The method marked <see cref="ResidualAttribute"/>.</summary>
    Residual,

    /// <summary>A method marked <see cref="ConditionAttribute"/>.</summary>
    Condition,
}

/// <summary>Which derivatives of u a term reads, as its method's parameters declare them.</summary>
public enum PdeDerivatives
{
    /// <summary><c>(x, u)</c>.</summary>
    Value,

    /// <summary><c>(x, u, du)</c>: every first derivative.</summary>
    FirstDerivatives,

    /// <summary><c>(x, u, du, laplacian)</c>: every first derivative and the sum of the second derivatives over chosen inputs.</summary>
    Laplacian,

    /// <summary><c>(x, u, du, d2u)</c>: every first derivative and the second derivatives of chosen inputs, one by one.</summary>
    SecondDerivatives,
}

/// <summary>
/// One term of a physics-informed loss: a method of the network class (its residual or one of its conditions), which
/// derivatives it reads, and the inputs whose second derivatives it takes. The loss is the sum over terms of their
/// weight times their mean squared value at their points (<see cref="PdeTraining"/>).
/// </summary>
/// <param name="Name">The method's name: how <see cref="PdeTraining.Points(string, Region, int, float, Sampling, int)"/> names the term.</param>
/// <param name="Kind">Residual or condition.</param>
/// <param name="Derivatives">Which derivatives of u the method reads.</param>
/// <param name="SecondDerivativeInputs">For <see cref="PdeDerivatives.Laplacian"/> and <see cref="PdeDerivatives.SecondDerivatives"/>, the inputs whose second derivatives it takes, in order; else empty.</param>
public sealed record PdeTerm(string Name, PdeTermKind Kind, PdeDerivatives Derivatives, ImmutableArray<int> SecondDerivativeInputs)
{
    /// <summary>Whether the method reads du.</summary>
    public bool ReadsFirstDerivatives => Derivatives != PdeDerivatives.Value;

    /// <summary>The second-derivative values it reads: 1 for a Laplacian, one per chosen input otherwise, 0 without.</summary>
    public int SecondDerivativeCount => Derivatives switch
    {
        PdeDerivatives.Laplacian => 1,
        PdeDerivatives.SecondDerivatives => SecondDerivativeInputs.Length,
        _ => 0,
    };

    public bool Equals(PdeTerm? other) =>
        other is not null && Name == other.Name && Kind == other.Kind && Derivatives == other.Derivatives
        && SecondDerivativeInputs.SequenceEqual(other.SecondDerivativeInputs);

    public override int GetHashCode() => HashCode.Combine(Name, Kind, Derivatives, SecondDerivativeInputs.Length);
}
