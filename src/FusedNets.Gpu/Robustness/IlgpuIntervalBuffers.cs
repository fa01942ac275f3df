using ILGPU;
using ILGPU.Runtime;

namespace FusedNets.Gpu;

/// <summary>
/// The device buffers of interval bounds, sample-major, for up to <see cref="Capacity"/> samples: both ends of the input
/// boxes and of every layer's z and y bounds, and for certified training what its backward writes.
/// </summary>
/// <remarks>
/// A layer without an activation (the identity, pooling) has y's bounds equal to z's: one buffer serves both.
/// </remarks>
internal sealed class IlgpuIntervalBuffers : IDisposable
{
    private readonly List<MemoryBuffer> _all = [];
    private readonly ArrayView<float>[] _lower, _upper, _zLower, _zUpper, _centerGradients, _radiusGradients;
    private readonly ArrayView<float> _differences, _losses, _lastLayerGradients;

    public IlgpuIntervalBuffers(Accelerator accelerator, NetworkArchitecture architecture, int capacity, bool training)
    {
        Capacity = capacity;
        Training = training;
        int layers = architecture.Layers.Length;
        (_lower, _upper) = (new ArrayView<float>[layers + 1], new ArrayView<float>[layers + 1]);
        (_zLower, _zUpper) = (new ArrayView<float>[layers], new ArrayView<float>[layers]);
        (_centerGradients, _radiusGradients) = (new ArrayView<float>[layers], new ArrayView<float>[layers]);
        for (int l = -1; l < layers; l++)
        {
            long size = (long)capacity * (l < 0 ? architecture.InputSize : architecture.Layers[l].Units);
            _lower[l + 1] = Allocate(accelerator, size);
            _upper[l + 1] = Allocate(accelerator, size);
            if (l < 0)
            {
                continue;
            }

            bool activated = architecture.Layers[l].Activation != Activation.Identity;
            _zLower[l] = activated ? Allocate(accelerator, size) : _lower[l + 1];
            _zUpper[l] = activated ? Allocate(accelerator, size) : _upper[l + 1];
            if (training)
            {
                _centerGradients[l] = Allocate(accelerator, size);
                _radiusGradients[l] = Allocate(accelerator, size);
            }
        }

        _differences = training ? Allocate(accelerator, (long)capacity * architecture.OutputSize) : default;
        _losses = training ? Allocate(accelerator, capacity) : default;
        _lastLayerGradients = training ? Allocate(accelerator, architecture.Layers[^1].ParameterCount) : default;
    }

    public int Capacity { get; }

    /// <summary>Whether the buffers certified training writes exist.</summary>
    public bool Training { get; }

    /// <summary>The lower bounds of layer <paramref name="layer"/>'s y: (Capacity, Units); layer −1 is the input boxes.</summary>
    public ArrayView<float> Lower(int layer) => _lower[layer + 1];

    public ArrayView<float> Upper(int layer) => _upper[layer + 1];

    /// <summary>The lower bounds of layer <paramref name="layer"/>'s z: (Capacity, Units), which the interval backward reads.</summary>
    public ArrayView<float> ZLower(int layer) => _zLower[layer];

    public ArrayView<float> ZUpper(int layer) => _zUpper[layer];

    /// <summary>Training: dμ = dL/dlo + dL/dhi of layer <paramref name="layer"/>'s z bounds [lo, hi] = [μ − ρ, μ + ρ]: (Capacity, Units).</summary>
    public ArrayView<float> CenterGradients(int layer) => _centerGradients[layer];

    /// <summary>Training: dρ = dL/dhi − dL/dlo of layer <paramref name="layer"/>'s z bounds: (Capacity, Units).</summary>
    public ArrayView<float> RadiusGradients(int layer) => _radiusGradients[layer];

    /// <summary>Training: each sample's worst-case logit differences, then the loss's gradient with respect to them: (Capacity, Outputs).</summary>
    public ArrayView<float> Differences => _differences;

    /// <summary>Training: each sample's interval loss: (Capacity).</summary>
    public ArrayView<float> Losses => _losses;

    /// <summary>Training with the last layer elided: the gradient of its parameters, in their layout.</summary>
    public ArrayView<float> LastLayerGradients => _lastLayerGradients;

    public void Dispose()
    {
        foreach (MemoryBuffer buffer in _all)
        {
            buffer.Dispose();
        }
    }

    private ArrayView<float> Allocate(Accelerator accelerator, long size)
    {
        MemoryBuffer1D<float, Stride1D.Dense> buffer = accelerator.Allocate1D<float>(size);
        _all.Add(buffer);
        return buffer.View;
    }
}
