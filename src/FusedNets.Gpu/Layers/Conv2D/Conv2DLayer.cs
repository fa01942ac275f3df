using ILGPU;
using ILGPU.Runtime;
using View = ILGPU.ArrayView<float>;

namespace FusedNets.Gpu;

/// <summary>A convolution's launches (<see cref="Conv2DKernels"/>): a thread per output, a thread per input, a group per parameter.</summary>
internal sealed class Conv2DLayer : IlgpuLayer
{
    private readonly KernelInstance _forwardKernel, _backwardKernel, _updateKernel;
    private readonly Action<AcceleratorStream, Index1D, ArrayView<int>, View, View, View, View, View, SpecializedValue<Conv2DShape>> _forward;
    private readonly Action<AcceleratorStream, Index1D, ArrayView<int>, View, View, View, View, View, SpecializedValue<Conv2DShape>> _backward;
    private readonly Action<AcceleratorStream, KernelConfig, ArrayView<int>, View, View, View, View, View, View, View, SgdStep, SpecializedValue<Conv2DShape>, int, int> _update;
    private readonly KernelInstance _intervalKernel;
    private Action<AcceleratorStream, Index1D, View, View, View, View, View, View, IntervalRule, float, float, SpecializedValue<Conv2DShape>>? _interval;
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
        _updateKernel = KernelInstance.Of(typeof(Conv2DKernels), nameof(Conv2DKernels.Update), [KernelTypes.MaskMode(masked)], _shape);
        _intervalKernel = KernelInstance.Of(typeof(Conv2DKernels), nameof(Conv2DKernels.IntervalForward), [KernelTypes.Of(layer.Activation)], _shape);
        kernels.Load(_forwardKernel, out _forward);
        kernels.Load(_backwardKernel, out _backward);
        kernels.Load(_updateKernel, out _update);
    }

    public override IEnumerable<KernelInstance> Kernels => [_forwardKernel, _backwardKernel, _updateKernel];

    public override void Forward(IlgpuWorkspace workspace, int batch) =>
        _forward(workspace.Stream, batch * Architecture.Units, workspace.Status,
            X(workspace), workspace.Weights(Index), workspace.Bias(Index), workspace.PreActivation(Index), workspace.Activation(Index), _shape);

    public override void Backward(IlgpuWorkspace workspace, int batch)
    {
        (View zBelow, View yBelow) = Below(workspace);
        _backward(workspace.Stream, batch * Architecture.Inputs, workspace.Status,
            workspace.Weights(Index), workspace.Delta(Index), zBelow, yBelow, DX(workspace), _shape);
    }

    public override void Update(IlgpuWorkspace workspace, int batch, SgdStep sgd, int step)
    {
        View weights = workspace.Weights(Index);

        // An unmasked update reads no mask (Unmasked): the weights stand in for the parameter.
        View mask = _masked ? workspace.Mask(Index) : weights;
        var groups = new KernelConfig(Architecture.ParameterCount, Conv2DKernels.ReductionThreads);
        _update(workspace.Stream, groups, workspace.Status,
            X(workspace), workspace.Delta(Index), weights, workspace.Bias(Index), workspace.WeightsMomentum(Index), workspace.BiasMomentum(Index), mask,
            sgd, _shape, batch, step);
    }

    public override KernelInstance IntervalKernel => _intervalKernel;

    public override void IntervalForward(KernelLibrary kernels, IlgpuWorkspace workspace, View lower, View upper, View outputLower, View outputUpper, int batch)
    {
        int terms = ((Conv2DLayerArchitecture)Architecture).Fans.In;
        LoadOnce(kernels, _intervalKernel, ref _interval)(workspace.Stream, batch * Architecture.Units,
            lower, upper, workspace.Weights(Index), workspace.Bias(Index), outputLower, outputUpper,
            new IntervalRule(Architecture.Activation), IntervalRounding.AffineRelative(terms), IntervalRounding.AffineAbsolute(terms), _shape);
    }
}
