using ILGPU;
using ILGPU.Runtime;
using View = ILGPU.ArrayView<float>;

namespace FusedNets.Gpu;

/// <summary>A dense layer's launches: one tiled kernel per phase (<see cref="DenseKernels"/>).</summary>
internal sealed class DenseLayer : IlgpuLayer
{
    private readonly KernelInstance _forwardKernel, _backwardKernel, _updateKernel;
    private readonly Action<AcceleratorStream, KernelConfig, ArrayView<int>, View, View, View, View, View, SpecializedValue<DenseShape>, int> _forward;
    private readonly Action<AcceleratorStream, KernelConfig, ArrayView<int>, View, View, View, View, View, SpecializedValue<DenseShape>, int> _backward;
    private readonly Action<AcceleratorStream, KernelConfig, ArrayView<int>, View, View, View, View, View, View, View, SgdStep, SpecializedValue<DenseShape>, int, int> _update;
    private readonly KernelInstance _intervalKernel;
    private Action<AcceleratorStream, KernelConfig, View, View, View, View, View, View, IntervalRule, float, float, SpecializedValue<DenseShape>, int>? _interval;
    private readonly SpecializedValue<DenseShape> _shape;
    private readonly int _tile;
    private readonly bool _masked;

    public DenseLayer(KernelLibrary kernels, NetworkArchitecture network, int index, bool masked)
        : base(network, index)
    {
        LayerArchitecture layer = Architecture;
        _shape = SpecializedValue.New(new DenseShape(layer.Inputs, layer.Units));
        _masked = masked;
        _tile = KernelTypes.TileSide(layer.Units, layer.Inputs);
        Type tile = KernelTypes.Tile(_tile);
        _forwardKernel = KernelInstance.Of(typeof(DenseKernels), nameof(DenseKernels.Forward), [KernelTypes.Of(layer.Activation), tile], _shape);
        _backwardKernel = KernelInstance.Of(typeof(DenseKernels), nameof(DenseKernels.Backward), [KernelTypes.Of(BelowActivation), tile], _shape);
        _updateKernel = KernelInstance.Of(typeof(DenseKernels), nameof(DenseKernels.Update), [KernelTypes.MaskMode(masked), tile], _shape);
        _intervalKernel = KernelInstance.Of(typeof(DenseKernels), nameof(DenseKernels.IntervalForward), [KernelTypes.Of(layer.Activation), tile], _shape);
        kernels.Load(_forwardKernel, out _forward);
        kernels.Load(_backwardKernel, out _backward);
        kernels.Load(_updateKernel, out _update);
    }

    public override IEnumerable<KernelInstance> Kernels => [_forwardKernel, _backwardKernel, _updateKernel];

    public override void Forward(IlgpuWorkspace workspace, int batch) =>
        _forward(workspace.Stream, Tiles(Architecture.Units, batch, _tile), workspace.Status,
            X(workspace), workspace.Weights(Index), workspace.Bias(Index), workspace.PreActivation(Index), workspace.Activation(Index), _shape, batch);

    public override void Backward(IlgpuWorkspace workspace, int batch)
    {
        (View zBelow, View yBelow) = Below(workspace);
        _backward(workspace.Stream, Tiles(Architecture.Inputs, batch, _tile), workspace.Status,
            workspace.Weights(Index), workspace.Delta(Index), zBelow, yBelow, DX(workspace), _shape, batch);
    }

    public override void Update(IlgpuWorkspace workspace, int batch, SgdStep sgd, int step)
    {
        View weights = workspace.Weights(Index);

        // An unmasked update reads no mask (Unmasked): the weights stand in for the parameter.
        View mask = _masked ? workspace.Mask(Index) : weights;
        _update(workspace.Stream, Tiles(Architecture.Inputs, Architecture.Units, _tile), workspace.Status,
            X(workspace), workspace.Delta(Index), weights, workspace.Bias(Index), workspace.WeightsMomentum(Index), workspace.BiasMomentum(Index), mask,
            sgd, _shape, batch, step);
    }

    public override KernelInstance IntervalKernel => _intervalKernel;

    public override void IntervalForward(KernelLibrary kernels, IlgpuWorkspace workspace, View lower, View upper, View outputLower, View outputUpper, int batch) =>
        LoadOnce(kernels, _intervalKernel, ref _interval)(workspace.Stream, Tiles(Architecture.Units, batch, _tile),
            lower, upper, workspace.Weights(Index), workspace.Bias(Index), outputLower, outputUpper,
            new IntervalRule(Architecture.Activation), IntervalRounding.AffineRelative(Architecture.Inputs), IntervalRounding.AffineAbsolute(Architecture.Inputs), _shape, batch);
}
