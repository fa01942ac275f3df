using FusedNets.Generated;
using ILGPU;
using ILGPU.Runtime;
using View = ILGPU.ArrayView<float>;

namespace FusedNets.Gpu;

/// <summary>A dense layer's launches: one tiled kernel per phase (<see cref="DenseKernels"/>).</summary>
internal sealed class DenseLayer : IlgpuLayer
{
    private readonly KernelInstance _forwardKernel, _backwardKernel;
    private readonly UpdateKernels _update;
    private readonly Action<AcceleratorStream, KernelConfig, ArrayView<int>, View, View, View, View, View, SpecializedValue<DenseShape>, int> _forward;
    private readonly Action<AcceleratorStream, KernelConfig, ArrayView<int>, View, View, View, View, View, SpecializedValue<DenseShape>, int> _backward;
    private readonly KernelInstance _intervalKernel, _intervalBackwardKernel;
    private readonly UpdateKernels _intervalUpdate;
    private Action<AcceleratorStream, KernelConfig, View, View, View, View, View, View, View, View, IntervalRule, float, float, SpecializedValue<DenseShape>, int>? _interval;
    private Action<AcceleratorStream, KernelConfig, View, View, View, View, View, IntervalRule, View, View, SpecializedValue<DenseShape>, int>? _intervalBackward;
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
        _update = new UpdateKernels(kernels, typeof(DenseKernels), nameof(DenseKernels.Update), [KernelTypes.MaskMode(masked), tile], _shape);
        _intervalKernel = KernelInstance.Of(typeof(DenseKernels), nameof(DenseKernels.IntervalForward), [KernelTypes.Of(layer.Activation), tile], _shape);
        _intervalBackwardKernel = KernelInstance.Of(typeof(DenseKernels), nameof(DenseKernels.IntervalBackward), [KernelTypes.Of(BelowActivation), tile], _shape);
        _intervalUpdate = new UpdateKernels(kernels, typeof(DenseKernels), nameof(DenseKernels.IntervalUpdate), [KernelTypes.MaskMode(masked), tile], _shape);
        kernels.Load(_forwardKernel, out _forward);
        kernels.Load(_backwardKernel, out _backward);
    }

    public override IEnumerable<KernelInstance> Kernels => [_forwardKernel, _backwardKernel, .. _update.All];

    public override void Forward(IlgpuWorkspace workspace, int batch) =>
        _forward(workspace.Stream, Tiles(Architecture.Units, batch, _tile), workspace.Status,
            X(workspace), workspace.Weights(Index), workspace.Bias(Index), workspace.PreActivation(Index), workspace.Activation(Index), _shape, batch);

    public override void Backward(IlgpuWorkspace workspace, int batch)
    {
        (View zBelow, View yBelow) = Below(workspace);
        _backward(workspace.Stream, Tiles(Architecture.Inputs, batch, _tile), workspace.Status,
            workspace.Weights(Index), workspace.Delta(Index), zBelow, yBelow, DX(workspace), _shape, batch);
    }

    public override void Update<TRule>(IlgpuWorkspace workspace, int batch, in TRule rule, int step)
    {
        View weights = workspace.Weights(Index);

        // An unmasked update reads no mask (Unmasked): the weights stand in for the parameter.
        View mask = _masked ? workspace.Mask(Index) : weights;
        _update.Launcher<TRule, Action<AcceleratorStream, KernelConfig, ArrayView<int>, View, View, View, View, View, View, View, View, View, TRule, SpecializedValue<DenseShape>, int, int>>()(
            workspace.Stream, Tiles(Architecture.Inputs, Architecture.Units, _tile), workspace.Status,
            X(workspace), workspace.Delta(Index), weights, workspace.Bias(Index),
            workspace.WeightsMomentum(Index), workspace.BiasMomentum(Index), workspace.WeightsSecondMoment(Index), workspace.BiasSecondMoment(Index), mask,
            rule, _shape, batch, step);
    }

    public override KernelInstance IntervalKernel => _intervalKernel;

    public override void IntervalForward(KernelLibrary kernels, IlgpuWorkspace workspace, IlgpuIntervalBuffers buffers, int batch, bool training) =>
        LoadOnce(kernels, _intervalKernel, ref _interval)(workspace.Stream, Tiles(Architecture.Units, batch, _tile),
            buffers.Lower(Index - 1), buffers.Upper(Index - 1), workspace.Weights(Index), workspace.Bias(Index),
            buffers.ZLower(Index), buffers.ZUpper(Index), buffers.Lower(Index), buffers.Upper(Index),
            new IntervalRule(Architecture.Activation, widen: !training),
            training ? 0f : IntervalRounding.AffineRelative(Architecture.Inputs), training ? 0f : IntervalRounding.AffineAbsolute(Architecture.Inputs), _shape, batch);

    public override IEnumerable<KernelInstance> CertifiedKernels => [_intervalBackwardKernel, .. _intervalUpdate.All];

    public override void IntervalBackward(KernelLibrary kernels, IlgpuWorkspace workspace, IlgpuIntervalBuffers buffers, int batch) =>
        LoadOnce(kernels, _intervalBackwardKernel, ref _intervalBackward)(workspace.Stream, Tiles(Architecture.Inputs, batch, _tile),
            workspace.Weights(Index), buffers.CenterGradients(Index), buffers.RadiusGradients(Index),
            buffers.ZLower(Index - 1), buffers.ZUpper(Index - 1), BelowRule, buffers.CenterGradients(Index - 1), buffers.RadiusGradients(Index - 1), _shape, batch);

    public override void IntervalUpdate<TRule>(IlgpuWorkspace workspace, IlgpuIntervalBuffers buffers, int batch, in TRule rule, int step)
    {
        View weights = workspace.Weights(Index);
        View mask = _masked ? workspace.Mask(Index) : weights;
        _intervalUpdate.Launcher<TRule, IntervalUpdateLauncher<KernelConfig, TRule, DenseShape>>()(
            workspace.Stream, Tiles(Architecture.Inputs, Architecture.Units, _tile), workspace.Status,
            buffers.Lower(Index - 1), buffers.Upper(Index - 1), buffers.CenterGradients(Index), buffers.RadiusGradients(Index), weights, workspace.Bias(Index),
            workspace.WeightsMomentum(Index), workspace.BiasMomentum(Index), workspace.WeightsSecondMoment(Index), workspace.BiasSecondMoment(Index), mask,
            rule, _shape, batch, step);
    }
}
