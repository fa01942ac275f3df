using System.Collections.Generic;
using FusedNets.Generators.Diagnostics;
using FusedNets.Generators.Model;

namespace FusedNets.Generators.Kinds;

/// <summary><c>[Dense(units, activation, Inputs =, Mask =, Density =, MaskSeed =)]</c>: reads any shape, flattened.</summary>
internal sealed class DenseKind : LayerKind
{
    public static readonly DenseKind Instance = new();

    public override string Name => "Dense";

    public override LayerModel? Parse(LayerParse layer)
    {
        int units = layer.IntArgument(0);
        bool valid = layer.CheckPositive("units", units);
        string activation = layer.Activation(1);
        MaskModel mask = layer.Mask(allowFunction: true);
        int declaredInputs = layer.NamedInt("Inputs", 0);
        int inputs = layer.PreviousShape.Size;
        if (declaredInputs != 0 && declaredInputs != inputs)
        {
            string given = layer.PreviousShape.IsVector ? $"{inputs} units" : $"{inputs} values, {layer.PreviousShape} flattened";
            layer.Report(DiagnosticDescriptors.InputsMismatch, layer.Name, LayerParse.Text(declaredInputs), layer.PreviousName, given);
        }

        return valid ? new DenseModel(layer.Name, layer.Modifiers, ShapeModel.Vector(inputs), ShapeModel.Vector(units), activation, mask) : null;
    }
}

/// <summary>One dense layer: z = W x + b, y = activation(z), W of shape [Units, Inputs].</summary>
internal sealed record DenseModel(string Name, string Modifiers, ShapeModel InputShape, ShapeModel OutputShape, string Activation, MaskModel Mask)
    : LayerModel(Name, Modifiers, InputShape, OutputShape, Activation)
{
    public override string Kind => "Dense";

    public override bool WritesMap => false;

    public int WeightCount => Units * Inputs;

    public override long ParameterCount => (long)Units * Inputs + Units;

    public override string ArchitectureExpression() =>
        $"new global::FusedNets.DenseLayerArchitecture(\"{Name}\", {Units}, {Inputs}, global::FusedNets.Activation.{Activation}, {Mask.Expression})";

    public override string CpuKernels => "DenseCpu";

    public override string Declaration => $"Dense({Units}, {Activation})";

    public override string Formula => "z = W x + b";
}
