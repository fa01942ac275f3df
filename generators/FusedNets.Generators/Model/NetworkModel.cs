using System.Linq;
using FusedNets.Generators.Kinds;

namespace FusedNets.Generators.Model;

/// <summary>A checked network declaration: everything the emitter needs, and nothing from the compilation.</summary>
/// <param name="Namespace">The containing namespace, or empty for the global namespace.</param>
/// <param name="ClassName">The partial class's name.</param>
/// <param name="Loss">The loss, as declared.</param>
/// <param name="Input">The <c>[Input]</c> layer.</param>
/// <param name="Layers">The layers after the input, in declaration order; each is its kind's model (see <see cref="LayerKind"/>).</param>
internal readonly record struct NetworkModel(
    string Namespace,
    string ClassName,
    LossKind Loss,
    InputModel Input,
    EquatableArray<LayerModel> Layers)
{
    public string InputName => Input.Name;

    public string InputModifiers => Input.Modifiers;

    public int InputSize => Input.Shape.Size;

    public LayerModel OutputLayer => Layers[Layers.Count - 1];

    public int OutputSize => OutputLayer.Units;

    /// <summary>Every layer's parameters; the parser has checked that the sum fits an int.</summary>
    public int ParameterCount => (int)Layers.Sum(layer => layer.ParameterCount);

    /// <summary>Whether the loss takes class labels (else float targets): the one place the generator decides it.</summary>
    public bool IsClassifier => Loss == LossKind.SoftmaxCrossEntropy;

    public string FullName => Namespace.Length == 0 ? ClassName : Namespace + "." + ClassName;
}

/// <summary>The network's input.</summary>
/// <param name="Name">The <c>[Input]</c> property's name.</param>
/// <param name="Modifiers">The property's modifiers as written, but <c>partial</c> ("" for none): its implementation repeats them.</param>
/// <param name="Shape">(size, 1, 1) for <c>[Input(size)]</c>; (channels, height, width) for an image.</param>
/// <param name="IsImage">Declared with three sizes: spatial layers may follow it.</param>
internal readonly record struct InputModel(string Name, string Modifiers, ShapeModel Shape, bool IsImage);

/// <summary>A (channels, height, width) shape; a vector of n values is (n, 1, 1).</summary>
internal readonly record struct ShapeModel(int Channels, int Height, int Width)
{
    public static ShapeModel Vector(int size) => new(size, 1, 1);

    /// <summary>The values it holds; the parser has checked that it fits an int.</summary>
    public int Size => Channels * Height * Width;

    public long LongSize => (long)Channels * Height * Width;

    public bool IsVector => Height == 1 && Width == 1;

    /// <summary>As the runtime writes a shape: <c>(16, 5, 5)</c>, or <c>(400)</c> for a vector.</summary>
    public override string ToString() => IsVector ? $"({Channels})" : $"({Channels}, {Height}, {Width})";

    /// <summary>The C# tuple the runtime takes.</summary>
    public string Tuple => $"({Channels}, {Height}, {Width})";
}

/// <summary>
/// One layer after the input, as its kind checked it: shapes in and out, activation, and what the emitter asks of
/// every kind. Each kind's model and parser live together in <c>Kinds/</c>.
/// </summary>
/// <param name="Name">The property's name.</param>
/// <param name="Modifiers">The property's modifiers as written, but <c>partial</c> ("" for none): its implementation repeats them.</param>
/// <param name="InputShape">What the layer reads (a dense layer: its inputs flattened).</param>
/// <param name="OutputShape">What the layer writes.</param>
/// <param name="Activation">The name of the <c>FusedNets.Activation</c> member applied after the layer's map.</param>
internal abstract record LayerModel(string Name, string Modifiers, ShapeModel InputShape, ShapeModel OutputShape, string Activation)
{
    public int Inputs => InputShape.Size;

    public int Units => OutputShape.Size;

    public bool IsIdentity => Activation == "Identity";

    /// <summary>The kind as declared: <c>Dense</c>, <c>Conv2D</c>, ...</summary>
    public abstract string Kind { get; }

    /// <summary>Whether the layer writes a (C, H, W) map that spatial layers may read; a dense layer writes a vector.</summary>
    public abstract bool WritesMap { get; }

    public abstract long ParameterCount { get; }

    /// <summary>The C# expression that builds the runtime's architecture of this layer.</summary>
    public abstract string ArchitectureExpression();

    /// <summary>The public class of the kind's CPU kernels that the generated schedule calls (<c>DenseCpu</c>).</summary>
    public abstract string CpuKernels { get; }

    /// <summary>The declaration in words, for comments and documentation: <c>Conv2D(6, 5, Relu, padding 2)</c>.</summary>
    public abstract string Declaration { get; }

    /// <summary>The map the layer computes, for comments above its kernels: <c>z = W x + b</c>.</summary>
    public abstract string Formula { get; }
}

/// <summary>A layer's fixed sparsity.</summary>
/// <param name="Kind">None, a method of the class, or a seeded random mask.</param>
/// <param name="Method">The mask method's name (<see cref="MaskKind.Function"/>).</param>
/// <param name="Density">The kept fraction (<see cref="MaskKind.Random"/>).</param>
/// <param name="Seed">The random mask's seed (<see cref="MaskKind.Random"/>).</param>
internal readonly record struct MaskModel(MaskKind Kind, string Method, double Density, int Seed)
{
    public static MaskModel None => new(MaskKind.None, "", 1.0, 0);

    public bool IsMasked => Kind != MaskKind.None;

    /// <summary>The C# expression of the runtime's mask.</summary>
    public string Expression => Kind switch
    {
        MaskKind.Function => $"global::FusedNets.LayerMask.FromFunction(\"{Method}\", {Emit.Identifiers.Escape(Method)})",
        MaskKind.Random => $"global::FusedNets.LayerMask.Random({Density.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}, {Seed})",
        _ => "global::FusedNets.LayerMask.None",
    };
}

internal enum MaskKind
{
    None,
    Function,
    Random,
}

/// <summary>The losses the generator knows; names match <c>FusedNets.Loss</c>.</summary>
internal enum LossKind
{
    SoftmaxCrossEntropy,
    MeanSquaredError,
}
