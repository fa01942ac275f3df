using FusedNets;

namespace FusedNets.Tests.Networks;

// Physics-informed networks declared as users declare them: the four equations the library promises to express, each
// with its conditions, and between them every form a term can take. Sizes are odd on purpose.

/// <summary>Poisson's equation −Δu = f on the unit square with u = g on its boundary; f and g from u = sin(πx) sin(πy).</summary>
[Network]
public partial class PoissonNet
{
    [Input(2)] public partial Layer X { get; }
    [Dense(9, Activation.Tanh)] public partial Layer Hidden1 { get; }
    [Dense(7, Activation.Gelu)] public partial Layer Hidden2 { get; }
    [Dense(1)] public partial Layer U { get; }

    [Residual]
    public static T Equation<T>(ReadOnlySpan<float> x, T u, ReadOnlySpan<T> du, T laplacian)
        where T : IPdeNumber<T> =>
        -laplacian - 2 * MathF.PI * MathF.PI * Exact(x);

    [Condition]
    public static T Boundary<T>(ReadOnlySpan<float> x, T u)
        where T : IPdeNumber<T> => u - Exact(x);

    public static float Exact(ReadOnlySpan<float> x) => MathF.Sin(MathF.PI * x[0]) * MathF.Sin(MathF.PI * x[1]);
}

/// <summary>The heat equation u_t = κ (u_xx + u_yy) over (t, x, y): time is input 0, the Laplacian over inputs 1 and 2; a masked layer.</summary>
[Network]
public partial class HeatNet
{
    private const float Diffusivity = 0.1f;

    [Input(3)] public partial Layer TXY { get; }
    [Dense(8, Activation.Sigmoid)] public partial Layer Hidden1 { get; }
    [Dense(6, Activation.Softplus, Mask = nameof(Banded))] public partial Layer Hidden2 { get; }
    [Dense(1)] public partial Layer U { get; }

    [Residual(SecondDerivativesOf = [1, 2])]
    public static T Equation<T>(ReadOnlySpan<float> x, T u, ReadOnlySpan<T> du, T laplacian)
        where T : IPdeNumber<T> => du[0] - Diffusivity * laplacian;

    [Condition]
    public static T Initial<T>(ReadOnlySpan<float> x, T u)
        where T : IPdeNumber<T> => u - MathF.Sin(MathF.PI * x[1]) * MathF.Sin(MathF.PI * x[2]);

    [Condition]
    public static T Walls<T>(ReadOnlySpan<float> x, T u)
        where T : IPdeNumber<T> => u;

    public static bool Banded(int output, int input) => Math.Abs(output - input) <= 3;
}

/// <summary>Helmholtz's equation Δu + k²u = f, with a Robin condition ∂u/∂x + u = g that reads the gradient.</summary>
[Network]
public partial class HelmholtzNet
{
    private const float Wavenumber = 2f;

    [Input(2)] public partial Layer X { get; }
    [Dense(10, Activation.Tanh)] public partial Layer Hidden { get; }
    [Dense(5, Activation.Sigmoid)] public partial Layer Narrow { get; }
    [Dense(1, Activation.Tanh)] public partial Layer U { get; }

    [Residual]
    public static T Equation<T>(ReadOnlySpan<float> x, T u, ReadOnlySpan<T> du, T laplacian)
        where T : struct, IPdeNumber<T> =>
        laplacian + Wavenumber * Wavenumber * u - MathF.Cos(x[0]) * x[1];

    [Condition]
    public static T Robin<T>(ReadOnlySpan<float> x, T u, ReadOnlySpan<T> du)
        where T : IPdeNumber<T> => du[0] + u - x[1];
}

/// <summary>Viscous Burgers' equation u_t + u u_x = ν u_xx over (t, x), reading u_xx alone: the nonlinear example.</summary>
[Network]
public partial class BurgersNet
{
    private const float Viscosity = 0.01f / MathF.PI;

    [Input(2)] public partial Layer TX { get; }
    [Dense(9, Activation.Tanh)] public partial Layer Hidden1 { get; }
    [Dense(11, Activation.Gelu)] public partial Layer Hidden2 { get; }
    [Dense(1)] public partial Layer U { get; }

    [Residual(SecondDerivativesOf = [1])]
    public static T Equation<T>(ReadOnlySpan<float> x, T u, ReadOnlySpan<T> du, ReadOnlySpan<T> d2u)
        where T : IPdeNumber<T> => du[0] + u * du[1] - Viscosity * d2u[0];

    [Condition]
    public static T Initial<T>(ReadOnlySpan<float> x, T u)
        where T : IPdeNumber<T> => u + MathF.Sin(MathF.PI * x[1]);

    [Condition]
    public static T Walls<T>(ReadOnlySpan<float> x, T u)
        where T : IPdeNumber<T> => u;
}

/// <summary>A residual that reads past du, as a mistake in a user's method would: training must surface the exception.</summary>
[Network]
public partial class ThrowingNet
{
    [Input(2)] public partial Layer X { get; }
    [Dense(3, Activation.Tanh)] public partial Layer Hidden { get; }
    [Dense(1)] public partial Layer U { get; }

    [Residual]
    public static T Equation<T>(ReadOnlySpan<float> x, T u, ReadOnlySpan<T> du)
        where T : IPdeNumber<T> => x[0] > 0.5f ? du[2] : u;
}
