using FusedNets.Backends.Cpu;
using FusedNets.Generated;
using FusedNets.Onnx;

namespace FusedNets;

/// <summary>Max pooling: each output is the largest value of its window; the gradient goes to that value (the first, on ties).</summary>
public sealed partial record MaxPool2DLayerArchitecture : Pool2DLayerArchitecture
{
    public MaxPool2DLayerArchitecture(string name, (int Channels, int Height, int Width) inputShape, int size)
        : base(name, inputShape, size)
    {
    }

    public override string Kind => "MaxPool2D";

    // x: (B, C, H, W), z: (B, C, OH, OW); z[c, oy, ox] = max over the window of x.
    internal override void ReferenceForward(ReadOnlySpan<double> parameters, ReadOnlySpan<double> x, Span<double> z, int batch)
    {
        for (int s = 0; s < batch; s++)
        {
            double[] sample = x.Slice(s * Inputs, Inputs).ToArray();
            double[] outputs = new double[Units];
            ForEachWindow((output, first) => outputs[output] = sample[Largest(sample, first)]);
            outputs.CopyTo(z.Slice(s * Units, Units));
        }
    }

    // dz: (B, C, OH, OW) in, dx: (B, C, H, W) out: each output's gradient to the input it took.
    internal override void ReferenceBackward(ReadOnlySpan<double> parameters, ReadOnlySpan<double> x, ReadOnlySpan<double> z, ReadOnlySpan<double> dz, Span<double> dparameters, Span<double> dx, int batch)
    {
        dx.Clear();
        for (int s = 0; s < batch; s++)
        {
            double[] sample = x.Slice(s * Inputs, Inputs).ToArray();
            double[] gradients = dz.Slice(s * Units, Units).ToArray();
            double[] inputs = new double[Inputs];
            ForEachWindow((output, first) => inputs[Largest(sample, first)] += gradients[output]);
            inputs.CopyTo(dx.Slice(s * Inputs, Inputs));
        }
    }

    /// <summary>The index of the window's largest value, scanning rows then columns and keeping the first on ties (as PyTorch).</summary>
    private int Largest(double[] sample, int first)
    {
        int width = InputShape.Width, best = first;
        for (int i = 0; i < Size; i++)
        {
            for (int j = 0; j < Size; j++)
            {
                int at = first + i * width + j;
                if (sample[at] > sample[best])
                {
                    best = at;
                }
            }
        }

        return best;
    }

    internal override void AddOnnxNodes(OnnxGraph graph, string x, string z, ReadOnlySpan<float> parameters) =>
        graph.Node("MaxPool", Name + ".MaxPool", [x], z, [OutputShape.Channels, OutputShape.Height, OutputShape.Width],
            OnnxGraph.Ints("kernel_shape", Size, Size), OnnxGraph.Ints("strides", Size, Size));

    internal override CpuLayer<TVector, TOps> CreateCpuLayer<TVector, TOps>(int index, float[]? mask) =>
        new PoolingCpuLayer<TVector, TOps, MaxPoolRule>(index, this);
}
