using FusedNets.Backends.Cpu;
using FusedNets.Generated;
using FusedNets.Onnx;

namespace FusedNets;

/// <summary>Average pooling: each output is the mean of its size × size window.</summary>
public sealed partial record AvgPool2DLayerArchitecture : Pool2DLayerArchitecture
{
    public AvgPool2DLayerArchitecture(string name, (int Channels, int Height, int Width) inputShape, int size)
        : base(name, inputShape, size)
    {
    }

    public override string Kind => "AvgPool2D";

    // x: (B, C, H, W), z: (B, C, OH, OW); z[c, oy, ox] = mean over the window of x.
    internal override void ReferenceForward(ReadOnlySpan<double> parameters, ReadOnlySpan<double> x, Span<double> z, int batch)
    {
        for (int s = 0; s < batch; s++)
        {
            double[] sample = x.Slice(s * Inputs, Inputs).ToArray();
            double[] outputs = new double[Units];
            ForEachWindow((output, first) =>
            {
                double sum = 0;
                foreach (int at in Window(first))
                {
                    sum += sample[at];
                }

                outputs[output] = sum / (Size * Size);
            });
            outputs.CopyTo(z.Slice(s * Units, Units));
        }
    }

    // dz: (B, C, OH, OW) in, dx: (B, C, H, W) out: each window's inputs get its output's gradient / size².
    internal override void ReferenceBackward(ReadOnlySpan<double> parameters, ReadOnlySpan<double> x, ReadOnlySpan<double> z, ReadOnlySpan<double> dz, Span<double> dparameters, Span<double> dx, int batch)
    {
        dx.Clear();
        for (int s = 0; s < batch; s++)
        {
            double[] gradients = dz.Slice(s * Units, Units).ToArray();
            double[] inputs = new double[Inputs];
            ForEachWindow((output, first) =>
            {
                foreach (int at in Window(first))
                {
                    inputs[at] += gradients[output] / (Size * Size);
                }
            });
            inputs.CopyTo(dx.Slice(s * Inputs, Inputs));
        }
    }

    private IEnumerable<int> Window(int first)
    {
        for (int i = 0; i < Size; i++)
        {
            for (int j = 0; j < Size; j++)
            {
                yield return first + i * InputShape.Width + j;
            }
        }
    }

    internal override void AddOnnxNodes(OnnxGraph graph, string x, string z, ReadOnlySpan<float> parameters) =>
        graph.Node("AveragePool", Name + ".AveragePool", [x], z, [OutputShape.Channels, OutputShape.Height, OutputShape.Width],
            OnnxGraph.Ints("kernel_shape", Size, Size), OnnxGraph.Ints("strides", Size, Size));

    internal override CpuLayer<TVector, TOps> CreateCpuLayer<TVector, TOps>(int index, float[]? mask) =>
        new PoolingCpuLayer<TVector, TOps, AvgPoolRule>(index, this);
}
