using FusedNets;

namespace Snapshots;

[Network]
public partial class LeNet
{
    [Input(1, 28, 28)]                           public partial Layer Image { get; }
    [Conv2D(6, 5, Activation.Relu, Padding = 2)] public partial Layer Conv1 { get; }
    [MaxPool2D(2)]                               public partial Layer Pool1 { get; }
    [Conv2D(16, 5, Activation.Relu)]             public partial Layer Conv2 { get; }
    [AvgPool2D(2)]                               public partial Layer Pool2 { get; }
    [Dense(120, Activation.Relu)]                public partial Layer Fc1 { get; }
    [Dense(84, Activation.Relu)]                 public partial Layer Fc2 { get; }
    [Dense(10)]                                  public partial Layer Logits { get; }
}
