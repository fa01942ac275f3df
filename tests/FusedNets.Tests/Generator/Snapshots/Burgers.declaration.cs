using System;
using FusedNets;

namespace Snapshots;

/// <summary>Viscous Burgers' equation over (t, x), its second derivative in x alone, and two conditions.</summary>
[Network]
public partial class Burgers
{
    [Input(2)] public partial Layer TX { get; }
    [Dense(20, Activation.Tanh)] public partial Layer Hidden { get; }
    [Dense(1)] public partial Layer U { get; }

    [Residual(SecondDerivativesOf = [1])]
    private static T Equation<T>(ReadOnlySpan<float> x, T u, ReadOnlySpan<T> du, ReadOnlySpan<T> d2u)
        where T : IPdeNumber<T> => du[0] + u * du[1] - 0.01f / MathF.PI * d2u[0];

    [Condition]
    private static T Initial<T>(ReadOnlySpan<float> x, T u)
        where T : IPdeNumber<T> => u + MathF.Sin(MathF.PI * x[1]);

    [Condition]
    private static T Flux<T>(ReadOnlySpan<float> x, T u, ReadOnlySpan<T> du)
        where T : struct, IPdeNumber<T> => du[1];
}
