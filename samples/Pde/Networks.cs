using FusedNets;

namespace Pde;

/// <summary>
/// Poisson's equation −Δu = f on the unit square, u = 0 on its boundary, with the manufactured solution
/// u = sin(πx) sin(πy), whose Laplacian gives f = 2π² sin(πx) sin(πy).
/// </summary>
[Network]
public partial class PoissonSquare
{
    [Input(2)] public partial Layer X { get; }
    [Dense(32, Activation.Tanh)] public partial Layer Hidden1 { get; }
    [Dense(32, Activation.Tanh)] public partial Layer Hidden2 { get; }
    [Dense(32, Activation.Tanh)] public partial Layer Hidden3 { get; }
    [Dense(1)] public partial Layer U { get; }

    [Residual]
    public static T Residual<T>(ReadOnlySpan<float> x, T u, ReadOnlySpan<T> du, T laplacian)
        where T : IPdeNumber<T> => -laplacian - 2 * MathF.PI * MathF.PI * Exact(x);

    [Condition]
    public static T Boundary<T>(ReadOnlySpan<float> x, T u)
        where T : IPdeNumber<T> => u;

    public static float Exact(ReadOnlySpan<float> x) => MathF.Sin(MathF.PI * x[0]) * MathF.Sin(MathF.PI * x[1]);
}

/// <summary>
/// −Δu = f on [0, 1]^d with u = g on the boundary, from u = Σ_i sin(π x_i / 2): f = (π/2)² Σ_i sin(π x_i / 2). The same
/// equation in 10, 20, 30, 40 and 50 dimensions (a network's input size is part of its type).
/// </summary>
internal static class HighDimensional
{
    public static T Residual<T>(ReadOnlySpan<float> x, T u, T laplacian)
        where T : IPdeNumber<T> => -laplacian - MathF.PI * MathF.PI / 4 * Exact(x);

    public static float Exact(ReadOnlySpan<float> x)
    {
        float sum = 0;
        foreach (float xi in x)
        {
            sum += MathF.Sin(MathF.PI * xi / 2);
        }

        return sum;
    }
}

[Network]
public partial class Poisson10
{
    [Input(10)] public partial Layer X { get; }
    [Dense(64, Activation.Tanh)] public partial Layer Hidden1 { get; }
    [Dense(64, Activation.Tanh)] public partial Layer Hidden2 { get; }
    [Dense(1)] public partial Layer U { get; }

    [Residual]
    public static T Residual<T>(ReadOnlySpan<float> x, T u, ReadOnlySpan<T> du, T laplacian)
        where T : IPdeNumber<T> => HighDimensional.Residual(x, u, laplacian);

    [Condition]
    public static T Boundary<T>(ReadOnlySpan<float> x, T u)
        where T : IPdeNumber<T> => u - HighDimensional.Exact(x);
}

[Network]
public partial class Poisson20
{
    [Input(20)] public partial Layer X { get; }
    [Dense(64, Activation.Tanh)] public partial Layer Hidden1 { get; }
    [Dense(64, Activation.Tanh)] public partial Layer Hidden2 { get; }
    [Dense(1)] public partial Layer U { get; }

    [Residual]
    public static T Residual<T>(ReadOnlySpan<float> x, T u, ReadOnlySpan<T> du, T laplacian)
        where T : IPdeNumber<T> => HighDimensional.Residual(x, u, laplacian);

    [Condition]
    public static T Boundary<T>(ReadOnlySpan<float> x, T u)
        where T : IPdeNumber<T> => u - HighDimensional.Exact(x);
}

[Network]
public partial class Poisson30
{
    [Input(30)] public partial Layer X { get; }
    [Dense(64, Activation.Tanh)] public partial Layer Hidden1 { get; }
    [Dense(64, Activation.Tanh)] public partial Layer Hidden2 { get; }
    [Dense(1)] public partial Layer U { get; }

    [Residual]
    public static T Residual<T>(ReadOnlySpan<float> x, T u, ReadOnlySpan<T> du, T laplacian)
        where T : IPdeNumber<T> => HighDimensional.Residual(x, u, laplacian);

    [Condition]
    public static T Boundary<T>(ReadOnlySpan<float> x, T u)
        where T : IPdeNumber<T> => u - HighDimensional.Exact(x);
}

[Network]
public partial class Poisson40
{
    [Input(40)] public partial Layer X { get; }
    [Dense(64, Activation.Tanh)] public partial Layer Hidden1 { get; }
    [Dense(64, Activation.Tanh)] public partial Layer Hidden2 { get; }
    [Dense(1)] public partial Layer U { get; }

    [Residual]
    public static T Residual<T>(ReadOnlySpan<float> x, T u, ReadOnlySpan<T> du, T laplacian)
        where T : IPdeNumber<T> => HighDimensional.Residual(x, u, laplacian);

    [Condition]
    public static T Boundary<T>(ReadOnlySpan<float> x, T u)
        where T : IPdeNumber<T> => u - HighDimensional.Exact(x);
}

[Network]
public partial class Poisson50
{
    [Input(50)] public partial Layer X { get; }
    [Dense(64, Activation.Tanh)] public partial Layer Hidden1 { get; }
    [Dense(64, Activation.Tanh)] public partial Layer Hidden2 { get; }
    [Dense(1)] public partial Layer U { get; }

    [Residual]
    public static T Residual<T>(ReadOnlySpan<float> x, T u, ReadOnlySpan<T> du, T laplacian)
        where T : IPdeNumber<T> => HighDimensional.Residual(x, u, laplacian);

    [Condition]
    public static T Boundary<T>(ReadOnlySpan<float> x, T u)
        where T : IPdeNumber<T> => u - HighDimensional.Exact(x);
}
