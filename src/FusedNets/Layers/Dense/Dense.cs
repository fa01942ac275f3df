using System.Collections.Immutable;
using System.Globalization;
using FusedNets.Backends.Cpu;
using FusedNets.Generated;

namespace FusedNets;

/// <summary>
/// A fully connected layer: y = activation(W x + b), with W of shape [units, inputs] and b of length units.
/// After a spatial layer it reads the (C, H, W) values flattened in that order, as <c>torch.flatten(x, 1)</c>.
/// </summary>
/// <param name="units">The number of outputs.</param>
/// <param name="activation">The elementwise activation applied after the affine map.</param>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class DenseAttribute(int units, Activation activation = Activation.Identity) : Attribute
{
    /// <summary>The number of outputs.</summary>
    public int Units { get; } = units;

    /// <summary>The activation applied after the affine map.</summary>
    public Activation Activation { get; } = activation;

    /// <summary>The input width this layer expects (after flattening); when set, the generator checks it against the previous layer.</summary>
    public int Inputs { get; set; }

    /// <summary>
    /// The name of a <c>static bool Name(int output, int input)</c> method of the network class:
    /// false fixes W[output, input] to zero before training, and it stays zero.
    /// </summary>
    public string? Mask { get; set; }

    /// <summary>The fraction of weights kept by a fixed random mask, in (0, 1]. 1 keeps all.</summary>
    public double Density { get; set; } = 1.0;

    /// <summary>The seed of the random mask chosen by <see cref="Density"/>.</summary>
    public int MaskSeed { get; set; }
}

/// <summary>One dense layer: z = W x + b, y = activation(z); W [<see cref="LayerArchitecture.Units"/>, <see cref="LayerArchitecture.Inputs"/>] row-major, PyTorch's nn.Linear layout.</summary>
public sealed partial record DenseLayerArchitecture : LayerArchitecture
{
    /// <summary>A dense layer of <paramref name="units"/> outputs over a vector of <paramref name="inputs"/> values.</summary>
    public DenseLayerArchitecture(string name, int units, int inputs, Activation activation, LayerMask mask)
        : base(name, Shapes.Vector(inputs), Shapes.Vector(units), activation, mask)
    {
    }

    public override string Kind => "Dense";

    public override ImmutableArray<ParameterTensor> Parameters =>
    [
        new ParameterTensor("weight", [Units, Inputs], ParameterRole.Weight),
        new ParameterTensor("bias", [Units], ParameterRole.Bias),
    ];

    public override long ForwardMultiplyAdds => (long)Units * Inputs;

    internal override (int In, int Out) Fans => (Inputs, Units);

    /// <summary>Any shape of the right size: a spatial map is flattened in (C, H, W) order.</summary>
    internal override bool Accepts((int Channels, int Height, int Width) shape) => Shapes.Size(shape) == Inputs;

    private protected override string Describe() => $"({Units}, {Activation})";

    internal override CpuLayer<TVector, TOps> CreateCpuLayer<TVector, TOps>(int index, float[]? mask) =>
        new DenseCpuLayer<TVector, TOps>(index, this, mask);

    internal override IEnumerable<FileProperty> FileProperties()
    {
        yield return KindProperty;
        yield return new FileProperty("units", Units.ToString(CultureInfo.InvariantCulture), "has", " units");
        yield return new FileProperty("inputs", Inputs.ToString(CultureInfo.InvariantCulture), "has", " inputs");
        yield return new FileProperty("activation", Activation.ToString(), "has activation", "");
        yield return new FileProperty("mask", Mask.Description, "has mask", "");
    }
}
