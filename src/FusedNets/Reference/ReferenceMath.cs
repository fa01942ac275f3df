namespace FusedNets.Reference;

/// <summary>
/// Every <see cref="Activation"/>'s forward and derivative rule in double precision: the oracle that the
/// single-precision rules in <see cref="Activations"/> and the generated kernels are tested against.
/// Written independently of <see cref="Activations"/> on purpose, so that a mistake in one is caught by the other.
/// </summary>
public static class ReferenceMath
{
    /// <summary>The slope of <see cref="Activation.LeakyRelu"/> for negative inputs (PyTorch's default).</summary>
    public const double LeakyReluSlope = 0.01;

    // The tanh approximation of GELU: 0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3))).
    private static readonly double GeluScale = Math.Sqrt(2.0 / Math.PI);
    private const double GeluCubic = 0.044715;

    /// <summary>y = f(z) for <paramref name="activation"/>.</summary>
    public static double Activate(Activation activation, double z) => activation switch
    {
        Activation.Identity => z,
        Activation.Relu => z > 0 ? z : 0,
        Activation.LeakyRelu => z > 0 ? z : LeakyReluSlope * z,
        Activation.Tanh => Math.Tanh(z),
        Activation.Sigmoid => Sigmoid(z),
        Activation.Gelu => 0.5 * z * (1 + Math.Tanh(GeluInner(z))),
        // log(1 + exp(z)) = max(z, 0) + log(1 + exp(-|z|)): exp never overflows, and for large z the
        // linear part is kept exactly instead of being lost inside log(exp(z)).
        Activation.Softplus => Math.Max(z, 0) + LogOnePlus(Math.Exp(-Math.Abs(z))),
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation."),
    };

    /// <summary>
    /// dy/dz of <paramref name="activation"/> at <paramref name="z"/>, given <paramref name="y"/> = f(z) as the
    /// forward computed it. At the kink of ReLU and leaky ReLU (z = 0) it takes the left slope, as PyTorch does.
    /// </summary>
    public static double Derivative(Activation activation, double z, double y) => activation switch
    {
        // y = z
        Activation.Identity => 1,
        // y = max(z, 0)
        Activation.Relu => z > 0 ? 1 : 0,
        // y = z > 0 ? z : 0.01 z
        Activation.LeakyRelu => z > 0 ? 1 : LeakyReluSlope,
        // y = tanh(z)
        Activation.Tanh => 1 - y * y,
        // y = 1 / (1 + exp(-z))
        Activation.Sigmoid => y * (1 - y),
        // y = 0.5 z (1 + tanh(u)), u = sqrt(2/pi) (z + 0.044715 z^3)
        Activation.Gelu => GeluDerivative(z),
        // y = log(1 + exp(z))
        Activation.Softplus => Sigmoid(z),
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation."),
    };

    private static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));

    // log(1 + x) accurate for tiny x, where 1 + x rounds away most of x's digits. Goldberg's trick: the
    // rounding error of u = 1 + x cancels in log(u) / (u - 1). (double.LogP1 is plain Log(1 + x).)
    private static double LogOnePlus(double x)
    {
        double u = 1 + x;
        return u == 1 ? x : Math.Log(u) * x / (u - 1);
    }

    private static double GeluInner(double z) => GeluScale * (z + GeluCubic * z * z * z);

    private static double GeluDerivative(double z)
    {
        double t = Math.Tanh(GeluInner(z));
        double du = GeluScale * (1 + 3 * GeluCubic * z * z);
        // The product rule on 0.5 z (1 + t), with dt/dz = (1 - t^2) du.
        return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * du;
    }
}
