using ILGPU;
using ILGPU.Runtime;
using View = ILGPU.ArrayView<float>;

namespace FusedNets.Gpu;

/// <summary>Max pooling's launches (<see cref="MaxPool2DKernels"/>): a thread per output forward, a thread per input backward.</summary>
internal sealed class MaxPool2DLayer : IlgpuLayer
{
    private readonly KernelInstance _forwardKernel, _backwardKernel, _intervalBackwardKernel;
    private readonly Action<AcceleratorStream, Index1D, ArrayView<int>, View, View, View, SpecializedValue<Pool2DShape>> _forward;
    private readonly Action<AcceleratorStream, Index1D, ArrayView<int>, View, View, View, View, View, SpecializedValue<Pool2DShape>> _backward;
    private readonly SpecializedValue<Pool2DShape> _shape;

    public MaxPool2DLayer(KernelLibrary kernels, NetworkArchitecture network, int index)
        : base(network, index)
    {
        _shape = SpecializedValue.New(Pool2DShape.Of((Pool2DLayerArchitecture)Architecture));
        _forwardKernel = KernelInstance.Of(typeof(MaxPool2DKernels), nameof(MaxPool2DKernels.Forward), [], _shape);
        _backwardKernel = KernelInstance.Of(typeof(MaxPool2DKernels), nameof(MaxPool2DKernels.Backward), [KernelTypes.Of(BelowActivation)], _shape);
        IntervalKernel = KernelInstance.Of(typeof(MaxPool2DKernels), nameof(MaxPool2DKernels.IntervalForward), [], _shape);
        _intervalBackwardKernel = KernelInstance.Of(typeof(MaxPool2DKernels), nameof(MaxPool2DKernels.IntervalBackward), [KernelTypes.Of(BelowActivation)], _shape);
        kernels.Load(_forwardKernel, out _forward);
        kernels.Load(_backwardKernel, out _backward);
    }

    public override IEnumerable<KernelInstance> Kernels => [_forwardKernel, _backwardKernel];

    public override void Forward(IlgpuWorkspace workspace, int batch) =>
        _forward(workspace.Stream, batch * Architecture.Units, workspace.Status, X(workspace), workspace.PreActivation(Index), workspace.Activation(Index), _shape);

    public override void Backward(IlgpuWorkspace workspace, int batch)
    {
        (View zBelow, View yBelow) = Below(workspace);
        _backward(workspace.Stream, batch * Architecture.Inputs, workspace.Status, X(workspace), workspace.Delta(Index), zBelow, yBelow, DX(workspace), _shape);
    }

    public override KernelInstance IntervalKernel { get; }

    // Pooling has no activation: y's bounds are z's, and exact (training and not).
    public override void IntervalForward(KernelLibrary kernels, IlgpuWorkspace workspace, IlgpuIntervalBuffers buffers, int batch, bool training) =>
        LoadOnce(kernels, IntervalKernel, ref _interval)(workspace.Stream, batch * Architecture.Units,
            buffers.Lower(Index - 1), buffers.Upper(Index - 1), buffers.Lower(Index), buffers.Upper(Index), _shape);

    public override IEnumerable<KernelInstance> CertifiedKernels => [_intervalBackwardKernel];

    public override void IntervalBackward(KernelLibrary kernels, IlgpuWorkspace workspace, IlgpuIntervalBuffers buffers, int batch) =>
        LoadOnce(kernels, _intervalBackwardKernel, ref _intervalBackward)(workspace.Stream, batch * Architecture.Inputs,
            buffers.Lower(Index - 1), buffers.Upper(Index - 1), buffers.CenterGradients(Index), buffers.RadiusGradients(Index),
            buffers.ZLower(Index - 1), buffers.ZUpper(Index - 1), BelowRule, buffers.CenterGradients(Index - 1), buffers.RadiusGradients(Index - 1), _shape);

    private Action<AcceleratorStream, Index1D, View, View, View, View, SpecializedValue<Pool2DShape>>? _interval;
    private Action<AcceleratorStream, Index1D, View, View, View, View, View, View, IntervalRule, View, View, SpecializedValue<Pool2DShape>>? _intervalBackward;
}

/// <summary>Average pooling's launches (<see cref="AvgPool2DKernels"/>): a thread per output forward, a thread per input backward.</summary>
internal sealed class AvgPool2DLayer : IlgpuLayer
{
    private readonly KernelInstance _forwardKernel, _backwardKernel, _intervalBackwardKernel;
    private readonly Action<AcceleratorStream, Index1D, ArrayView<int>, View, View, View, SpecializedValue<Pool2DShape>> _forward;
    private readonly Action<AcceleratorStream, Index1D, ArrayView<int>, View, View, View, View, SpecializedValue<Pool2DShape>> _backward;
    private readonly SpecializedValue<Pool2DShape> _shape;

    public AvgPool2DLayer(KernelLibrary kernels, NetworkArchitecture network, int index)
        : base(network, index)
    {
        _shape = SpecializedValue.New(Pool2DShape.Of((Pool2DLayerArchitecture)Architecture));
        _forwardKernel = KernelInstance.Of(typeof(AvgPool2DKernels), nameof(AvgPool2DKernels.Forward), [], _shape);
        _backwardKernel = KernelInstance.Of(typeof(AvgPool2DKernels), nameof(AvgPool2DKernels.Backward), [KernelTypes.Of(BelowActivation)], _shape);
        IntervalKernel = KernelInstance.Of(typeof(AvgPool2DKernels), nameof(AvgPool2DKernels.IntervalForward), [], _shape);
        _intervalBackwardKernel = KernelInstance.Of(typeof(AvgPool2DKernels), nameof(AvgPool2DKernels.IntervalBackward), [KernelTypes.Of(BelowActivation)], _shape);
        kernels.Load(_forwardKernel, out _forward);
        kernels.Load(_backwardKernel, out _backward);
    }

    public override IEnumerable<KernelInstance> Kernels => [_forwardKernel, _backwardKernel];

    public override void Forward(IlgpuWorkspace workspace, int batch) =>
        _forward(workspace.Stream, batch * Architecture.Units, workspace.Status, X(workspace), workspace.PreActivation(Index), workspace.Activation(Index), _shape);

    public override void Backward(IlgpuWorkspace workspace, int batch)
    {
        (View zBelow, View yBelow) = Below(workspace);
        _backward(workspace.Stream, batch * Architecture.Inputs, workspace.Status, workspace.Delta(Index), zBelow, yBelow, DX(workspace), _shape);
    }

    public override KernelInstance IntervalKernel { get; }

    // Pooling has no activation: y's bounds are z's. Certified training takes the mean unwidened.
    public override void IntervalForward(KernelLibrary kernels, IlgpuWorkspace workspace, IlgpuIntervalBuffers buffers, int batch, bool training)
    {
        int terms = ((Pool2DLayerArchitecture)Architecture).Size * ((Pool2DLayerArchitecture)Architecture).Size;
        LoadOnce(kernels, IntervalKernel, ref _interval)(workspace.Stream, batch * Architecture.Units,
            buffers.Lower(Index - 1), buffers.Upper(Index - 1), buffers.Lower(Index), buffers.Upper(Index),
            training ? 0f : IntervalRounding.MeanRelative(terms), training ? 0f : terms * IntervalRounding.SmallestNormal, _shape);
    }

    public override IEnumerable<KernelInstance> CertifiedKernels => [_intervalBackwardKernel];

    public override void IntervalBackward(KernelLibrary kernels, IlgpuWorkspace workspace, IlgpuIntervalBuffers buffers, int batch) =>
        LoadOnce(kernels, _intervalBackwardKernel, ref _intervalBackward)(workspace.Stream, batch * Architecture.Inputs,
            buffers.CenterGradients(Index), buffers.RadiusGradients(Index),
            buffers.ZLower(Index - 1), buffers.ZUpper(Index - 1), BelowRule, buffers.CenterGradients(Index - 1), buffers.RadiusGradients(Index - 1), _shape);

    private Action<AcceleratorStream, Index1D, View, View, View, View, float, float, SpecializedValue<Pool2DShape>>? _interval;
    private Action<AcceleratorStream, Index1D, View, View, View, View, IntervalRule, View, View, SpecializedValue<Pool2DShape>>? _intervalBackward;
}
