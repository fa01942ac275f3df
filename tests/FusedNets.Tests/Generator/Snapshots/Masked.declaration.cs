using FusedNets;

namespace Snapshots;

[Network]
public partial class Masked
{
    [Input(32)] public partial Layer Signal { get; }
    [Dense(32, Activation.Gelu, Mask = nameof(Banded))] public partial Layer Local { get; }
    [Dense(64, Activation.LeakyRelu, Density = 0.1, MaskSeed = 7)] public partial Layer Sparse { get; }
    [Dense(4, Activation.Softplus)] public partial Layer Scores { get; }

    private static bool Banded(int output, int input) => System.Math.Abs(output - input) <= 3;
}
