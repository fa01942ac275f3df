using FusedNets.Generated;
using FusedNets.Onnx;

namespace FusedNets;

/// <summary>Calls back with the <see cref="IActivationKernel"/> type of an <see cref="Activation"/> value.</summary>
internal interface IActivationVisitor
{
    void Visit<TActivation>()
        where TActivation : struct, IActivationKernel;
}

/// <summary>
/// The table of activations: each <see cref="Activation"/> value's kernel type, and its rules by value for host code
/// (the reference, initialization, ONNX export). Adding an activation means an enum member, its file beside this
/// one, and its line in the table.
/// </summary>
internal static class Activations
{
    // In the order of the enum.
    private static readonly ActivationRule[] s_table =
    [
        new ActivationRule<IdentityKernel>(IdentityKernel.AddOnnxNodes),
        new ActivationRule<ReluKernel>(ReluKernel.AddOnnxNodes),
        new ActivationRule<LeakyReluKernel>(LeakyReluKernel.AddOnnxNodes),
        new ActivationRule<TanhKernel>(TanhKernel.AddOnnxNodes),
        new ActivationRule<SigmoidKernel>(SigmoidKernel.AddOnnxNodes),
        new ActivationRule<GeluKernel>(GeluKernel.AddOnnxNodes),
        new ActivationRule<SoftplusKernel>(SoftplusKernel.AddOnnxNodes),
    ];

    /// <summary>The rules of <paramref name="activation"/>.</summary>
    public static ActivationRule Rule(Activation activation) =>
        (uint)activation < (uint)s_table.Length && s_table[(int)activation].Activation == activation
            ? s_table[(int)activation]
            : throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");

    /// <summary>Turns a runtime <paramref name="activation"/> into a type argument once per layer, not per element.</summary>
    public static void Dispatch<TVisitor>(Activation activation, ref TVisitor visitor)
        where TVisitor : struct, IActivationVisitor => Rule(activation).Accept(ref visitor);

    /// <summary>y = f(z) in single precision.</summary>
    public static float Apply(Activation activation, float z) => Rule(activation).Apply(z);

    /// <summary>dy/dz at z in single precision, given y = f(z).</summary>
    public static float Derivative(Activation activation, float z, float y) => Rule(activation).Derivative(z, y);
}

/// <summary>One activation's rules by value, read through its kernel type.</summary>
internal abstract class ActivationRule
{
    public abstract Activation Activation { get; }

    /// <summary>True for the ReLU family, initialized with He's scheme; the rest use Glorot's.</summary>
    public abstract bool ReluFamily { get; }

    public abstract float Apply(float z);

    public abstract float Derivative(float z, float y);

    /// <summary>y = f(z) in double precision: the reference.</summary>
    public abstract double Reference(double z);

    /// <summary>dy/dz in double precision, given y = f(z): the reference.</summary>
    public abstract double ReferenceDerivative(double z, double y);

    /// <summary>The constants of the float interval rule (<see cref="ActivationIntervals{TActivation}"/>).</summary>
    public abstract FloatIntervalRule FloatIntervalRule { get; }

    /// <summary>The bounds of f over [lo, hi] in double precision: the reference (<see cref="ActivationIntervals{TActivation}"/>).</summary>
    public abstract (double Lower, double Upper) ReferenceBounds(double lo, double hi);

    /// <summary>The gradient of <see cref="ReferenceBounds"/> with respect to lo and hi.</summary>
    public abstract (double DLo, double DHi) ReferenceBoundsBackward(double lo, double hi, double dLower, double dUpper);

    /// <summary>Adds the ONNX nodes computing y = f(z) from values named z and y; none for the identity.</summary>
    public abstract void AddOnnxNodes(OnnxGraph graph, string name, string z, string y);

    /// <summary>Calls <paramref name="visitor"/> back with the kernel type.</summary>
    public abstract void Accept<TVisitor>(ref TVisitor visitor)
        where TVisitor : struct, IActivationVisitor;
}

internal sealed class ActivationRule<TActivation>(Action<OnnxGraph, string, string, string> addOnnxNodes) : ActivationRule
    where TActivation : struct, IActivationKernel
{
    public override Activation Activation => TActivation.Activation;

    public override bool ReluFamily => TActivation.ReluFamily;

    public override float Apply(float z) => TActivation.Apply(z);

    public override float Derivative(float z, float y) => TActivation.Derivative(z, y);

    public override double Reference(double z) => TActivation.Reference(z);

    public override double ReferenceDerivative(double z, double y) => TActivation.ReferenceDerivative(z, y);

    public override FloatIntervalRule FloatIntervalRule => ActivationIntervals<TActivation>.FloatRule;

    public override (double Lower, double Upper) ReferenceBounds(double lo, double hi) => ActivationIntervals<TActivation>.Reference(lo, hi);

    public override (double DLo, double DHi) ReferenceBoundsBackward(double lo, double hi, double dLower, double dUpper) =>
        ActivationIntervals<TActivation>.ReferenceBackward(lo, hi, dLower, dUpper);

    public override void AddOnnxNodes(OnnxGraph graph, string name, string z, string y) => addOnnxNodes(graph, name, z, y);

    public override void Accept<TVisitor>(ref TVisitor visitor) => visitor.Visit<TActivation>();
}
