using FusedNets.Generators.Diagnostics;
using FusedNets.Generators.Model;

namespace FusedNets.Generators.Kinds;

/// <summary><c>[Conv2D(filters, kernel, activation, Stride =, Padding =, Density =, MaskSeed =)]</c>: reads a (C, H, W) map.</summary>
internal sealed class Conv2DKind : LayerKind
{
    public static readonly Conv2DKind Instance = new();

    public override string Name => "Conv2D";

    public override LayerModel? Parse(LayerParse layer)
    {
        int filters = layer.IntArgument(0), kernel = layer.IntArgument(1);
        int stride = layer.NamedInt("Stride", 1), padding = layer.NamedInt("Padding", 0);
        string activation = layer.Activation(2);
        MaskModel mask = layer.Mask(allowFunction: false);
        bool valid = layer.CheckPositive("filters", filters)
            & layer.CheckPositive("kernel", kernel)
            & layer.CheckPositive("Stride", stride);
        if (padding < 0)
        {
            layer.Report(DiagnosticDescriptors.NegativePadding, layer.Name, LayerParse.Text(padding));
            valid = false;
        }

        if (!layer.CheckReadsMap(Name) || !valid)
        {
            return null;
        }

        ShapeModel input = layer.PreviousShape;
        int paddedHeight = input.Height + 2 * padding, paddedWidth = input.Width + 2 * padding;
        if (kernel > paddedHeight || kernel > paddedWidth)
        {
            layer.Report(
                DiagnosticDescriptors.KernelLargerThanInput,
                layer.Name,
                LayerParse.Text(kernel),
                layer.PreviousName,
                input.ToString(),
                LayerParse.Text(padding),
                $"{paddedHeight}×{paddedWidth}");
            return null;
        }

        var output = new ShapeModel(filters, (paddedHeight - kernel) / stride + 1, (paddedWidth - kernel) / stride + 1);
        return new Conv2DModel(layer.Name, layer.Modifiers, input, output, activation, filters, kernel, stride, padding, mask);
    }
}

/// <summary>
/// One 2-D convolution, as PyTorch's nn.Conv2d: W [Filters, C, Kernel, Kernel], b [Filters], cross-correlation with
/// zero padding.
/// </summary>
internal sealed record Conv2DModel(
    string Name,
    string Modifiers,
    ShapeModel InputShape,
    ShapeModel OutputShape,
    string Activation,
    int Filters,
    int Kernel,
    int Stride,
    int Padding,
    MaskModel Mask)
    : LayerModel(Name, Modifiers, InputShape, OutputShape, Activation)
{
    public override string Kind => "Conv2D";

    public override bool WritesMap => true;

    public override long ParameterCount => (long)Filters * InputShape.Channels * Kernel * Kernel + Filters;

    public override string ArchitectureExpression() =>
        $"new global::FusedNets.Conv2DLayerArchitecture(\"{Name}\", {InputShape.Tuple}, {Filters}, {Kernel}, {Stride}, {Padding}, global::FusedNets.Activation.{Activation}, {Mask.Expression})";

    public override string CpuKernels => "Conv2DCpu";

    public override string Declaration => $"Conv2D({Filters}, {Kernel}, {Activation}{(Stride != 1 ? $", stride {Stride}" : "")}{(Padding != 0 ? $", padding {Padding}" : "")})";

    public override string Formula => $"z[f, oy, ox] = b[f] + Σ_c,i,j W[f, c, i, j] x[c, {Position("oy", "i")}, {Position("ox", "j")}]";

    /// <summary>The input coordinate a tap reads, such as "2·oy + i − 1", without a stride of 1 or a padding of 0.</summary>
    private string Position(string output, string tap) =>
        $"{(Stride != 1 ? $"{Stride}·" : "")}{output} + {tap}{(Padding != 0 ? $" − {Padding}" : "")}";
}
