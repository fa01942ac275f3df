using ILGPU;
using ILGPU.Runtime;

namespace FusedNets.Gpu;

/// <summary>
/// The device buffers of one network on one accelerator. Parameters and the optimizer's moments are flat vectors in the
/// layout of <see cref="NetworkArchitecture"/>; per-batch buffers hold <see cref="Capacity"/> samples and
/// grow when a larger batch arrives. What the forward saves for the backward: each layer's pre-activation
/// z and activation y (the same values for a layer without activation, such as pooling). Values are sample-major,
/// each sample's in (C, H, W) order: layer l's z is (B, Units_l).
/// </summary>
internal sealed class IlgpuWorkspace : IDisposable
{
    private readonly Accelerator _accelerator;
    private readonly NetworkArchitecture _architecture;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _parameters;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _momentum;
    private readonly MemoryBuffer1D<float, Stride1D.Dense>?[] _masks;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _parametersSnapshot;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _momentumSnapshot;
    private MemoryBuffer1D<float, Stride1D.Dense>? _secondMoment;
    private MemoryBuffer1D<float, Stride1D.Dense>? _secondMomentSnapshot;
    private readonly MemoryBuffer1D<int, Stride1D.Dense> _status;
    private readonly MemoryBuffer1D<int, Stride1D.Dense> _layerTable;
    private readonly MemoryBuffer1D<float, Stride1D.Dense>? _inputMean;
    private readonly MemoryBuffer1D<float, Stride1D.Dense>? _inputDeviation;
    private readonly List<MemoryBuffer> _batchBuffers = [];
    private readonly int[] _layerOffsets;
    private MemoryBuffer1D<float, Stride1D.Dense> _layerValues = null!;
    private MemoryBuffer1D<float, Stride1D.Dense> _input = null!;
    private MemoryBuffer1D<float, Stride1D.Dense> _inputGradient = null!;
    private MemoryBuffer1D<int, Stride1D.Dense> _labels = null!;
    private MemoryBuffer1D<float, Stride1D.Dense> _targets = null!;
    private MemoryBuffer1D<float, Stride1D.Dense> _losses = null!;

    public IlgpuWorkspace(Accelerator accelerator, NetworkArchitecture architecture, IReadOnlyList<float[]?> masks)
    {
        _accelerator = accelerator;
        _architecture = architecture;
        _parameters = accelerator.Allocate1D<float>(architecture.ParameterCount);
        _momentum = accelerator.Allocate1D<float>(architecture.ParameterCount);
        _momentum.MemSetToZero();
        _parametersSnapshot = accelerator.Allocate1D<float>(architecture.ParameterCount);
        _momentumSnapshot = accelerator.Allocate1D<float>(architecture.ParameterCount);
        _status = accelerator.Allocate1D<int>(1);
        _masks = new MemoryBuffer1D<float, Stride1D.Dense>?[architecture.Layers.Length];
        for (int l = 0; l < _masks.Length; l++)
        {
            if (masks[l] is { } mask)
            {
                _masks[l] = accelerator.Allocate1D(mask);
            }
        }

        _layerOffsets = new int[architecture.Layers.Length + 1];
        var table = new int[LayerTableColumns * architecture.Layers.Length];
        for (int l = 0; l < architecture.Layers.Length; l++)
        {
            LayerArchitecture layer = architecture.Layers[l];
            _layerOffsets[l + 1] = _layerOffsets[l] + 3 * layer.Units;
            table[LayerTableColumns * l] = layer.Inputs;
            table[LayerTableColumns * l + 1] = layer.Units;
            table[LayerTableColumns * l + 2] = architecture.ParameterOffset(l);
            table[LayerTableColumns * l + 3] = _layerOffsets[l];
        }

        _layerTable = accelerator.Allocate1D(table);
        if (architecture.StandardizesInput)
        {
            // The identity until the statistics are set.
            _inputMean = accelerator.Allocate1D<float>(architecture.InputSize);
            _inputMean.MemSetToZero();
            _inputDeviation = accelerator.Allocate1D(Enumerable.Repeat(1f, architecture.InputSize).ToArray());
        }

        EnsureCapacity(1);
    }

    /// <summary>Ints per row of <see cref="LayerTable"/>.</summary>
    public const int LayerTableColumns = 4;

    /// <summary>The stream every kernel of this network runs on, in order.</summary>
    public AcceleratorStream Stream => _accelerator.DefaultStream;

    /// <summary>The number of samples the per-batch buffers hold.</summary>
    public int Capacity { get; private set; }

    /// <summary>The whole parameter vector.</summary>
    public ArrayView<float> Parameters => _parameters.View;

    /// <summary>The first moment of every parameter: SGD's velocity, Adam's m (exp_avg).</summary>
    public ArrayView<float> Momentum => _momentum.View;

    /// <summary>Whether the second moments exist: only once a rule that keeps them (Adam) has asked (<see cref="EnsureSecondMoment"/>).</summary>
    public bool HasSecondMoment => _secondMoment is not null;

    /// <summary>The second moment of every parameter, Adam's v (exp_avg_sq).</summary>
    public ArrayView<float> SecondMoment => (_secondMoment ?? throw new InvalidOperationException("No rule has kept a second moment yet.")).View;

    /// <summary>The second moments as they were before the current step (or the failed one).</summary>
    public ArrayView<float> SecondMomentSnapshot => (_secondMomentSnapshot ?? throw new InvalidOperationException("No rule has kept a second moment yet.")).View;

    /// <summary>The parameters as they were before the current step (or the failed one).</summary>
    public ArrayView<float> ParametersSnapshot => _parametersSnapshot.View;

    /// <summary>The momentum as it was before the current step (or the failed one).</summary>
    public ArrayView<float> MomentumSnapshot => _momentumSnapshot.View;

    /// <summary>0 while every step was finite, else 1 + the index of the first step that was not (see <see cref="KernelChecks"/>).</summary>
    public ArrayView<int> Status => _status.View;

    /// <summary>Whether the network standardizes its input.</summary>
    public bool StandardizesInput => _inputMean is not null;

    /// <summary>Each input feature's mean, for a network that standardizes its input.</summary>
    public ArrayView<float> InputMean => _inputMean!.View;

    /// <summary>Each input feature's standard deviation, for a network that standardizes its input.</summary>
    public ArrayView<float> InputDeviation => _inputDeviation!.View;

    /// <summary>x: (Capacity, InputSize), standardized when the network standardizes its input.</summary>
    public ArrayView<float> Input => _input.View;

    /// <summary>dL/dx: (Capacity, InputSize).</summary>
    public ArrayView<float> InputGradient => _inputGradient.View;

    /// <summary>Class labels: (Capacity).</summary>
    public ArrayView<int> Labels => _labels.View;

    /// <summary>Regression targets: (Capacity, OutputSize).</summary>
    public ArrayView<float> Targets => _targets.View;

    /// <summary>Per-sample losses: (Capacity).</summary>
    public ArrayView<float> Losses => _losses.View;

    /// <summary>The weight tensor of layer <paramref name="layer"/>, in its PyTorch layout (a dense layer's (Units, Inputs)).</summary>
    public ArrayView<float> Weights(int layer) => Parameters.SubView(_architecture.WeightOffset(layer), _architecture.Layers[layer].WeightCount);

    /// <summary>The bias of layer <paramref name="layer"/>: one per output channel.</summary>
    public ArrayView<float> Bias(int layer) => Parameters.SubView(_architecture.BiasOffset(layer), BiasLength(layer));

    /// <summary>The first moment of the weights, in their layout.</summary>
    public ArrayView<float> WeightsMomentum(int layer) => Momentum.SubView(_architecture.WeightOffset(layer), _architecture.Layers[layer].WeightCount);

    /// <summary>The first moment of the bias.</summary>
    public ArrayView<float> BiasMomentum(int layer) => Momentum.SubView(_architecture.BiasOffset(layer), BiasLength(layer));

    /// <summary>
    /// The second moment of the weights, in their layout. Before any rule kept one, the first moment stands in: an update
    /// kernel takes both views, and a rule without a second moment never reads or writes it.
    /// </summary>
    public ArrayView<float> WeightsSecondMoment(int layer) => (HasSecondMoment ? SecondMoment : Momentum).SubView(_architecture.WeightOffset(layer), _architecture.Layers[layer].WeightCount);

    /// <summary>The second moment of the bias (the first standing in, as for <see cref="WeightsSecondMoment"/>).</summary>
    public ArrayView<float> BiasSecondMoment(int layer) => (HasSecondMoment ? SecondMoment : Momentum).SubView(_architecture.BiasOffset(layer), BiasLength(layer));

    /// <summary>Allocates the second moments and their snapshot, zero, unless they exist.</summary>
    public void EnsureSecondMoment()
    {
        if (_secondMoment is null)
        {
            _secondMoment = _accelerator.Allocate1D<float>(_architecture.ParameterCount);
            _secondMoment.MemSetToZero();
            _secondMomentSnapshot = _accelerator.Allocate1D<float>(_architecture.ParameterCount);
        }
    }

    /// <summary>The 0/1 mask of the weights, in their layout; only for masked layers.</summary>
    public ArrayView<float> Mask(int layer) => _masks[layer]?.View
        ?? throw new InvalidOperationException($"Layer '{_architecture.Layers[layer].Name}' has no mask.");

    /// <summary>Replaces layer <paramref name="layer"/>'s mask on the device (null: every weight trains).</summary>
    public void SetMask(int layer, float[]? mask)
    {
        MemoryBuffer1D<float, Stride1D.Dense>? buffer = _masks[layer];
        if (mask is not null && buffer is not null)
        {
            buffer.View.CopyFromCPU(mask);
            return;
        }

        buffer?.Dispose();
        _masks[layer] = mask is null ? null : _accelerator.Allocate1D(mask);
    }

    /// <summary>
    /// Per layer, <see cref="LayerTableColumns"/> ints: inputs, units, where its parameters start in
    /// <see cref="Parameters"/>, and where its values start in <see cref="LayerValues"/> in units of Capacity.
    /// The fused training step reads its sizes here.
    /// </summary>
    public ArrayView<int> LayerTable => _layerTable.View;

    /// <summary>
    /// Every layer's z, y and dL/dz in one buffer, so that a fused kernel reaches them all through one view:
    /// layer l's z starts at Capacity × 3 Σ_{k&lt;l} Units_k, its y Capacity × Units_l later, its dz as much again.
    /// </summary>
    public ArrayView<float> LayerValues => _layerValues.View;

    /// <summary>z = W x + b: (Capacity, Units).</summary>
    public ArrayView<float> PreActivation(int layer) => LayerValue(layer, 0);

    /// <summary>y = activation(z): (Capacity, Units).</summary>
    public ArrayView<float> Activation(int layer) => LayerValue(layer, 1);

    /// <summary>dL/dz: (Capacity, Units).</summary>
    public ArrayView<float> Delta(int layer) => LayerValue(layer, 2);

    /// <summary>Grows the per-batch buffers to hold at least <paramref name="batch"/> samples.</summary>
    public void EnsureCapacity(int batch)
    {
        if (batch <= Capacity)
        {
            return;
        }

        foreach (MemoryBuffer buffer in _batchBuffers)
        {
            buffer.Dispose();
        }

        _batchBuffers.Clear();
        int capacity = Math.Max(batch, Capacity * 2);
        _layerValues = Track(_accelerator.Allocate1D<float>((long)capacity * _layerOffsets[^1]));

        _input = Track(_accelerator.Allocate1D<float>((long)capacity * _architecture.InputSize));
        _inputGradient = Track(_accelerator.Allocate1D<float>((long)capacity * _architecture.InputSize));
        _labels = Track(_accelerator.Allocate1D<int>(capacity));
        _targets = Track(_accelerator.Allocate1D<float>((long)capacity * _architecture.OutputSize));
        _losses = Track(_accelerator.Allocate1D<float>(capacity));
        Capacity = capacity;
    }

    public void Dispose()
    {
        foreach (MemoryBuffer buffer in _batchBuffers)
        {
            buffer.Dispose();
        }

        _batchBuffers.Clear();
        _parameters.Dispose();
        _momentum.Dispose();
        _parametersSnapshot.Dispose();
        _momentumSnapshot.Dispose();
        _secondMoment?.Dispose();
        _secondMomentSnapshot?.Dispose();
        _status.Dispose();
        _layerTable.Dispose();
        _inputMean?.Dispose();
        _inputDeviation?.Dispose();
        foreach (MemoryBuffer1D<float, Stride1D.Dense>? mask in _masks)
        {
            mask?.Dispose();
        }
    }

    private int BiasLength(int layer) => _architecture.Layers[layer].Parameters[1].Size;

    private ArrayView<float> LayerValue(int layer, int which)
    {
        long units = _architecture.Layers[layer].Units;
        return LayerValues.SubView(((long)_layerOffsets[layer] + which * units) * Capacity, units * Capacity);
    }

    private T Track<T>(T buffer)
        where T : MemoryBuffer
    {
        _batchBuffers.Add(buffer);
        return buffer;
    }
}
