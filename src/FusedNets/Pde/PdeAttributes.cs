namespace FusedNets;

/// <summary>
/// Marks the method that states a network's partial differential equation as a residual r(x, u, ∂u, ∂²u) = 0: the
/// network becomes u(x), and physics-informed training (<see cref="PdeTraining"/>) drives the mean of r² at points of
/// the domain to zero. The method's parameters say which derivatives it reads, and so which the network carries:
/// <code>
/// static T Name&lt;T&gt;(ReadOnlySpan&lt;float&gt; x, T u) where T : IPdeNumber&lt;T&gt;
/// static T Name&lt;T&gt;(ReadOnlySpan&lt;float&gt; x, T u, ReadOnlySpan&lt;T&gt; du)                       // du[i] = ∂u/∂x_i
/// static T Name&lt;T&gt;(ReadOnlySpan&lt;float&gt; x, T u, ReadOnlySpan&lt;T&gt; du, T laplacian)            // Σ ∂²u/∂x_i² over SecondDerivativesOf
/// static T Name&lt;T&gt;(ReadOnlySpan&lt;float&gt; x, T u, ReadOnlySpan&lt;T&gt; du, ReadOnlySpan&lt;T&gt; d2u)   // d2u[k] = ∂²u/∂x_k² for k in SecondDerivativesOf
/// </code>
/// A network has at most one residual, and a network with one is a multilayer perceptron of <c>[Dense]</c> layers with
/// one output, u. The generator checks all of this (FN028 to FN033).
/// </summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class ResidualAttribute : Attribute
{
    /// <summary>
    /// The inputs (indices into x) whose second derivatives the method reads: summed into its <c>laplacian</c>, or one
    /// by one in its <c>d2u</c>, in this order. Unset: every input. A heat equation over (t, x, y) sums over
    /// <c>[1, 2]</c> and reads ∂u/∂t from du[0].
    /// </summary>
    public int[]? SecondDerivativesOf { get; set; }
}

/// <summary>
/// Marks a method stating a condition the solution meets on some points, as a residual that should be zero there:
/// a boundary condition (<c>u - g(x)</c>), an initial condition (the points at t = 0), a Neumann condition (reading
/// du). Its forms are a residual's (see <see cref="ResidualAttribute"/>); which points it holds on, and its weight in
/// the loss, are given to <see cref="PdeTraining"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class ConditionAttribute : Attribute
{
    /// <summary>The inputs whose second derivatives a condition of the second-derivative forms reads (unset: every input).</summary>
    public int[]? SecondDerivativesOf { get; set; }
}
