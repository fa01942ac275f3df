using FusedNets.Generated;
using ILGPU;
using ILGPU.Runtime;
using View = ILGPU.ArrayView<float>;

namespace FusedNets.Gpu;

/// <summary>A convolution's launches (<see cref="Conv2DKernels"/>): a thread per output, a thread per input, a group per parameter.</summary>
internal sealed class Conv2DLayer : IlgpuLayer
{
    private readonly KernelInstance _forwardKernel, _backwardKernel;
    private readonly UpdateKernels _update;
    private readonly Action<AcceleratorStream, Index1D, ArrayView<int>, View, View, View, View, View, SpecializedValue<Conv2DShape>> _forward;
    private readonly Action<AcceleratorStream, Index1D, ArrayView<int>, View, View, View, View, View, SpecializedValue<Conv2DShape>> _backward;
    private readonly KernelInstance _intervalKernel, _intervalBackwardKernel;
    private readonly UpdateKernels _intervalUpdate;
    private Action<AcceleratorStream, Index1D, View, View, View, View, View, View, View, View, IntervalRule, float, float, SpecializedValue<Conv2DShape>>? _interval;
    private Action<AcceleratorStream, Index1D, View, View, View, View, View, IntervalRule, View, View, SpecializedValue<Conv2DShape>>? _intervalBackward;
    private readonly SpecializedValue<Conv2DShape> _shape;
    private readonly bool _masked;

    public Conv2DLayer(KernelLibrary kernels, NetworkArchitecture network, int index, bool masked)
        : base(network, index)
    {
        var layer = (Conv2DLayerArchitecture)Architecture;
        _shape = SpecializedValue.New(Conv2DShape.Of(layer));
        _masked = masked;
        _forwardKernel = KernelInstance.Of(typeof(Conv2DKernels), nameof(Conv2DKernels.Forward), [KernelTypes.Of(layer.Activation)], _shape);
        _backwardKernel = KernelInstance.Of(typeof(Conv2DKernels), nameof(Conv2DKernels.Backward), [KernelTypes.Of(BelowActivation)], _shape);
        _update = new UpdateKernels(kernels, typeof(Conv2DKernels), nameof(Conv2DKernels.Update), [KernelTypes.MaskMode(masked)], _shape);
        _intervalKernel = KernelInstance.Of(typeof(Conv2DKernels), nameof(Conv2DKernels.IntervalForward), [KernelTypes.Of(layer.Activation)], _shape);
        _intervalBackwardKernel = KernelInstance.Of(typeof(Conv2DKernels), nameof(Conv2DKernels.IntervalBackward), [KernelTypes.Of(BelowActivation)], _shape);
        _intervalUpdate = new UpdateKernels(kernels, typeof(Conv2DKernels), nameof(Conv2DKernels.IntervalUpdate), [KernelTypes.MaskMode(masked)], _shape);
        kernels.Load(_forwardKernel, out _forward);
        kernels.Load(_backwardKernel, out _backward);
    }

    public override IEnumerable<KernelInstance> Kernels => [_forwardKernel, _backwardKernel, .. _update.All];

    public override void Forward(IlgpuWorkspace workspace, int batch) =>
        _forward(workspace.Stream, batch * Architecture.Units, workspace.Status,
            X(workspace), workspace.Weights(Index), workspace.Bias(Index), workspace.PreActivation(Index), workspace.Activation(Index), _shape);

    public override void Backward(IlgpuWorkspace workspace, int batch)
    {
        (View zBelow, View yBelow) = Below(workspace);
        _backward(workspace.Stream, batch * Architecture.Inputs, workspace.Status,
            workspace.Weights(Index), workspace.Delta(Index), zBelow, yBelow, DX(workspace), _shape);
    }

    public override void Update<TRule>(IlgpuWorkspace workspace, int batch, in TRule rule, int step)
    {
        View weights = workspace.Weights(Index);

        // An unmasked update reads no mask (Unmasked): the weights stand in for the parameter.
        View mask = _masked ? workspace.Mask(Index) : weights;
        var groups = new KernelConfig(Architecture.ParameterCount, Conv2DKernels.ReductionThreads);
        _update.Launcher<TRule, Action<AcceleratorStream, KernelConfig, ArrayView<int>, View, View, View, View, View, View, View, View, View, TRule, SpecializedValue<Conv2DShape>, int, int>>()(
            workspace.Stream, groups, workspace.Status,
            X(workspace), workspace.Delta(Index), weights, workspace.Bias(Index),
            workspace.WeightsMomentum(Index), workspace.BiasMomentum(Index), workspace.WeightsSecondMoment(Index), workspace.BiasSecondMoment(Index), mask,
            rule, _shape, batch, step);
    }

    public override KernelInstance IntervalKernel => _intervalKernel;

    public override void IntervalForward(KernelLibrary kernels, IlgpuWorkspace workspace, IlgpuIntervalBuffers buffers, int batch, bool training)
    {
        int terms = ((Conv2DLayerArchitecture)Architecture).Fans.In;
        LoadOnce(kernels, _intervalKernel, ref _interval)(workspace.Stream, batch * Architecture.Units,
            buffers.Lower(Index - 1), buffers.Upper(Index - 1), workspace.Weights(Index), workspace.Bias(Index),
            buffers.ZLower(Index), buffers.ZUpper(Index), buffers.Lower(Index), buffers.Upper(Index),
            new IntervalRule(Architecture.Activation, widen: !training),
            training ? 0f : IntervalRounding.AffineRelative(terms), training ? 0f : IntervalRounding.AffineAbsolute(terms), _shape);
    }

    public override IEnumerable<KernelInstance> CertifiedKernels => [_intervalBackwardKernel, .. _intervalUpdate.All];

    public override void IntervalBackward(KernelLibrary kernels, IlgpuWorkspace workspace, IlgpuIntervalBuffers buffers, int batch) =>
        LoadOnce(kernels, _intervalBackwardKernel, ref _intervalBackward)(workspace.Stream, batch * Architecture.Inputs,
            workspace.Weights(Index), buffers.CenterGradients(Index), buffers.RadiusGradients(Index),
            buffers.ZLower(Index - 1), buffers.ZUpper(Index - 1), BelowRule, buffers.CenterGradients(Index - 1), buffers.RadiusGradients(Index - 1), _shape);

    public override void IntervalUpdate<TRule>(IlgpuWorkspace workspace, IlgpuIntervalBuffers buffers, int batch, in TRule rule, int step)
    {
        View weights = workspace.Weights(Index);
        View mask = _masked ? workspace.Mask(Index) : weights;
        var groups = new KernelConfig(Architecture.ParameterCount, Conv2DKernels.ReductionThreads);
        _intervalUpdate.Launcher<TRule, IntervalUpdateLauncher<KernelConfig, TRule, Conv2DShape>>()(
            workspace.Stream, groups, workspace.Status,
            buffers.Lower(Index - 1), buffers.Upper(Index - 1), buffers.CenterGradients(Index), buffers.RadiusGradients(Index), weights, workspace.Bias(Index),
            workspace.WeightsMomentum(Index), workspace.BiasMomentum(Index), workspace.WeightsSecondMoment(Index), workspace.BiasSecondMoment(Index), mask,
            rule, _shape, batch, step);
    }
}
