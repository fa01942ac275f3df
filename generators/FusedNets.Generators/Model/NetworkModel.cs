namespace FusedNets.Generators.Model;

/// <summary>A checked network declaration: everything the emitter needs, and nothing from the compilation.</summary>
/// <param name="Namespace">The containing namespace, or empty for the global namespace.</param>
/// <param name="ClassName">The partial class's name.</param>
/// <param name="Loss">The loss, as declared.</param>
/// <param name="InputName">The <c>[Input]</c> property's name.</param>
/// <param name="InputModifiers">The <c>[Input]</c> property's modifiers as written, but <c>partial</c> ("" for none): its implementation repeats them.</param>
/// <param name="InputSize">Floats per input sample.</param>
/// <param name="Layers">The dense layers, in declaration order.</param>
internal readonly record struct NetworkModel(
    string Namespace,
    string ClassName,
    LossKind Loss,
    string InputName,
    string InputModifiers,
    int InputSize,
    EquatableArray<LayerModel> Layers)
{
    public LayerModel OutputLayer => Layers[Layers.Count - 1];

    public int OutputSize => OutputLayer.Units;

    /// <summary>Σ Units × Inputs + Units over the layers; the parser has checked that it fits an int.</summary>
    public int ParameterCount
    {
        get
        {
            int count = 0;
            foreach (LayerModel layer in Layers)
            {
                count += layer.ParameterCount;
            }

            return count;
        }
    }

    public string FullName => Namespace.Length == 0 ? ClassName : Namespace + "." + ClassName;
}

/// <summary>One dense layer: y = Activation(W x + b), W of shape [Units, Inputs].</summary>
/// <param name="Name">The property's name.</param>
/// <param name="Modifiers">The property's modifiers as written, but <c>partial</c> ("" for none): its implementation repeats them.</param>
/// <param name="Units">Outputs.</param>
/// <param name="Inputs">Inputs: the previous layer's units.</param>
/// <param name="Activation">The name of the <c>FusedNets.Activation</c> member; the kernels call the <c>FusedNets.Activations</c> methods of that name.</param>
/// <param name="Mask">Which weights are fixed to zero.</param>
internal readonly record struct LayerModel(
    string Name,
    string Modifiers,
    int Units,
    int Inputs,
    string Activation,
    MaskModel Mask)
{
    public int WeightCount => Units * Inputs;

    public int ParameterCount => WeightCount + Units;

    public bool IsIdentity => Activation == "Identity";
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
}

internal enum MaskKind
{
    None,
    Function,
    Random,
}

/// <summary>The losses the generator knows how to fuse; names match <c>FusedNets.Loss</c>.</summary>
internal enum LossKind
{
    SoftmaxCrossEntropy,
    MeanSquaredError,
}
