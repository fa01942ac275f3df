using FusedNets;

namespace Snapshots;

[Network(Loss = Loss.MeanSquaredError)]
internal partial class Regressor
{
    [Input(3)] internal partial Layer X { get; }
    [Dense(16, Activation.Tanh)] internal partial Layer Hidden { get; }
    [Dense(2, Activation.Sigmoid, Inputs = 16)] internal partial Layer Y { get; }
}
