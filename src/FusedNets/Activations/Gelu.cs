using System.ComponentModel;
using System.Runtime.CompilerServices;
using FusedNets.Onnx;

namespace FusedNets.Generated;

/// <summary>The tanh approximation of GELU (PyTorch's approximate="tanh"): y = 0.5 z (1 + tanh(√(2/π) (z + 0.044715 z³))).</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct GeluKernel : ILaneByLaneActivationKernel<GeluKernel>
{
    // sqrt(2 / pi) and the cubic coefficient of the tanh approximation of GELU.
    private const float Scale = 0.7978845608028654f;
    private const float Cubic = 0.044715f;

    public static Activation Activation => Activation.Gelu;

    public static bool ReluFamily => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Apply(float z) => 0.5f * z * (1f + MathF.Tanh(Scale * (z + Cubic * z * z * z)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Derivative(float z, float y)
    {
        float t = MathF.Tanh(Scale * (z + Cubic * z * z * z));
        return 0.5f * (1f + t) + 0.5f * z * (1f - t * t) * Scale * (1f + 3f * Cubic * z * z);
    }

    public static double Reference(double z) => 0.5 * z * (1 + Math.Tanh(Inner(z)));

    // The product rule on 0.5 z (1 + t), t = tanh(u), u = sqrt(2/pi) (z + 0.044715 z³), with dt/dz = (1 - t²) du/dz.
    public static double ReferenceDerivative(double z, double y)
    {
        double t = Math.Tanh(Inner(z));
        double du = Math.Sqrt(2 / Math.PI) * (1 + 3 * 0.044715 * z * z);
        return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * du;
    }

    private static double Inner(double z) => Math.Sqrt(2 / Math.PI) * (z + 0.044715 * z * z * z);

    /// <summary>GELU dips below zero: its one minimum, about f(−0.7518) = −0.1700, is where its derivative crosses zero.</summary>
    public static double ReferenceMinimumAt { get; } = DerivativeRoot(-2, 0);

    // tanhf (2 ulps) on an argument with about 5 roundings, then 1 + t, 0.5 z and the product: under 5 · 2⁻²⁴ (|z| + |f(z)|);
    // the rest is headroom for other libraries.
    public static float FloatErrorUlps => 32;

    // Bisection on [low, high], where the derivative goes from negative to positive: to the last bit of a double.
    private static double DerivativeRoot(double low, double high)
    {
        while (true)
        {
            double middle = 0.5 * (low + high);
            if (middle <= low || middle >= high)
            {
                return middle;
            }

            if (ReferenceDerivative(middle, Reference(middle)) < 0)
            {
                low = middle;
            }
            else
            {
                high = middle;
            }
        }
    }

    /// <summary>Written out of elementary nodes: ONNX's Gelu arrived in opset 20, after the opset FusedNets writes.</summary>
    internal static void AddOnnxNodes(OnnxGraph graph, string name, string z, string y)
    {
        string half = graph.Constant("gelu.half", 0.5f);
        string one = graph.Constant("gelu.one", 1f);
        string cubic = graph.Constant("gelu.cubic", Cubic);
        string scale = graph.Constant("gelu.scale", (float)Math.Sqrt(2 / Math.PI));

        // Each node is named after the value it writes.
        string Value(string part) => $"{name}.{part}";
        void Add(string op, string[] inputs, string output) => graph.Elementwise(op, output, inputs, output);

        Add("Mul", [z, z], Value("z2"));
        Add("Mul", [Value("z2"), z], Value("z3"));
        Add("Mul", [Value("z3"), cubic], Value("cubic_term"));
        Add("Add", [z, Value("cubic_term")], Value("inner"));
        Add("Mul", [Value("inner"), scale], Value("scaled"));
        Add("Tanh", [Value("scaled")], Value("tanh"));
        Add("Add", [Value("tanh"), one], Value("one_plus_tanh"));
        Add("Mul", [z, half], Value("half_z"));
        Add("Mul", [Value("half_z"), Value("one_plus_tanh")], y);
    }
}
