using ILGPU;
using ILGPU.Runtime;

namespace FusedNets.Gpu;

/// <summary>The device buffers of interval bounds: both ends of the input boxes and of every layer's output bounds, sample-major, for up to <see cref="Capacity"/> samples.</summary>
internal sealed class IlgpuIntervalBuffers : IDisposable
{
    private readonly MemoryBuffer1D<float, Stride1D.Dense>[] _lower, _upper;

    public IlgpuIntervalBuffers(Accelerator accelerator, NetworkArchitecture architecture, int capacity)
    {
        Capacity = capacity;
        int layers = architecture.Layers.Length;
        _lower = new MemoryBuffer1D<float, Stride1D.Dense>[layers + 1];
        _upper = new MemoryBuffer1D<float, Stride1D.Dense>[layers + 1];
        for (int l = -1; l < layers; l++)
        {
            long size = (long)capacity * (l < 0 ? architecture.InputSize : architecture.Layers[l].Units);
            _lower[l + 1] = accelerator.Allocate1D<float>(size);
            _upper[l + 1] = accelerator.Allocate1D<float>(size);
        }
    }

    public int Capacity { get; }

    /// <summary>The lower bounds of layer <paramref name="layer"/>'s y: (Capacity, Units); layer −1 is the input boxes.</summary>
    public ArrayView<float> Lower(int layer) => _lower[layer + 1].View;

    public ArrayView<float> Upper(int layer) => _upper[layer + 1].View;

    public void Dispose()
    {
        foreach (MemoryBuffer1D<float, Stride1D.Dense> buffer in _lower.Concat(_upper))
        {
            buffer.Dispose();
        }
    }
}
