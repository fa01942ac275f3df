using FusedNets;

namespace Snapshots;

[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class MnistMlp
{
    [Input(784)]                  public partial Layer Pixels { get; }
    [Dense(128, Activation.Relu)] public partial Layer Hidden1 { get; }
    [Dense(128, Activation.Relu)] public partial Layer Hidden2 { get; }
    [Dense(10)]                   public partial Layer Logits { get; }
}
