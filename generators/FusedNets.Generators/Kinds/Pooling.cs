using FusedNets.Generators.Diagnostics;
using FusedNets.Generators.Model;

namespace FusedNets.Generators.Kinds;

/// <summary><c>[MaxPool2D(size)]</c> and <c>[AvgPool2D(size)]</c>: size × size windows with stride size over a (C, H, W) map.</summary>
internal abstract class PoolingKind : LayerKind
{
    public override LayerModel? Parse(LayerParse layer)
    {
        int size = layer.IntArgument(0);
        if (!layer.CheckPositive("size", size) || !layer.CheckReadsMap(Name))
        {
            return null;
        }

        ShapeModel input = layer.PreviousShape;
        if (size > input.Height || size > input.Width)
        {
            layer.Report(DiagnosticDescriptors.WindowLargerThanMap, layer.Name, LayerParse.Text(size), layer.PreviousName, input.ToString());
            return null;
        }

        var output = new ShapeModel(input.Channels, (input.Height - size) / size + 1, (input.Width - size) / size + 1);
        return new PoolingModel(Name, layer.Name, layer.Modifiers, input, output, size);
    }
}

internal sealed class MaxPool2DKind : PoolingKind
{
    public static readonly MaxPool2DKind Instance = new();

    public override string Name => "MaxPool2D";
}

internal sealed class AvgPool2DKind : PoolingKind
{
    public static readonly AvgPool2DKind Instance = new();

    public override string Name => "AvgPool2D";
}

/// <summary>A pooling layer: no parameters, no activation; each channel's windows reduced to their maximum or mean.</summary>
internal sealed record PoolingModel(string PoolKind, string Name, string Modifiers, ShapeModel InputShape, ShapeModel OutputShape, int Size)
    : LayerModel(Name, Modifiers, InputShape, OutputShape, "Identity")
{
    public override string Kind => PoolKind;

    public override bool WritesMap => true;

    public override long ParameterCount => 0;

    public override string ArchitectureExpression() =>
        $"new global::FusedNets.{PoolKind}LayerArchitecture(\"{Name}\", {InputShape.Tuple}, {Size})";

    public override string CpuKernels => PoolKind + "Cpu";

    public override string Declaration => $"{PoolKind}({Size})";

    public override string Formula => PoolKind == "MaxPool2D" ? $"z = the largest of each {Size}×{Size} window" : $"z = the mean of each {Size}×{Size} window";
}
