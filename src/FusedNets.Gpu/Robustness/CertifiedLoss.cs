using FusedNets.Generated;
using ILGPU;
using ILGPU.Runtime;
using View = ILGPU.ArrayView<float>;

namespace FusedNets.Gpu;

/// <summary>
/// Certified training's loss phase on one accelerator (<see cref="IntervalKernels"/>): the interval loss of each box's
/// worst-case logit differences and its gradient back to dμ and dρ of the last layer it bounds. Where the last layer is
/// elided (<see cref="IntervalLoss.Elides"/>) the differences are bounded through it directly, and its parameters' update
/// is this phase's too.
/// </summary>
internal sealed class CertifiedLoss
{
    private readonly KernelLibrary _kernels;
    private readonly NetworkArchitecture _architecture;
    private readonly KernelInstance _lossKernel;
    private readonly KernelInstance? _backwardKernel, _gradientKernel;
    private readonly UpdateKernels? _update;
    private readonly SpecializedValue<DenseShape> _lastShape;
    private readonly SpecializedValue<int> _outputs;
    private readonly bool _masked;

    public CertifiedLoss(KernelLibrary kernels, NetworkArchitecture architecture, bool lastLayerMasked)
    {
        _kernels = kernels;
        _architecture = architecture;
        _masked = lastLayerMasked;
        LayerArchitecture last = architecture.Layers[^1];
        _outputs = SpecializedValue.New(architecture.OutputSize);

        // A network of one layer has no bounds below it to bound through: it compares the outputs' bounds.
        Elides = IntervalLoss.Elides(architecture) && architecture.Layers.Length > 1;
        if (!Elides)
        {
            _lossKernel = KernelInstance.Of(typeof(IntervalKernels), nameof(IntervalKernels.OutputLoss), [KernelTypes.Of(last.Activation)], _outputs);
            return;
        }

        _lastShape = SpecializedValue.New(new DenseShape(last.Inputs, last.Units));
        _lossKernel = KernelInstance.Of(typeof(IntervalKernels), nameof(IntervalKernels.ElidedLoss), [], _lastShape);
        _backwardKernel = KernelInstance.Of(typeof(IntervalKernels), nameof(IntervalKernels.ElidedBackward), [KernelTypes.Of(architecture.Layers[^2].Activation)], _lastShape);
        _gradientKernel = KernelInstance.Of(typeof(IntervalKernels), nameof(IntervalKernels.ElidedGradient), [], _lastShape);
        _update = new UpdateKernels(kernels, typeof(IntervalKernels), nameof(IntervalKernels.ElidedUpdate), [KernelTypes.MaskMode(lastLayerMasked)], specialization: null);
    }

    /// <summary>Whether the last layer is elided: the layers' own bounds and backward then stop below it.</summary>
    public bool Elides { get; }

    /// <summary>Every kernel this phase launches (every update rule's), for the codegen checks.</summary>
    public IEnumerable<KernelInstance> Kernels =>
        Elides ? [_lossKernel, _backwardKernel!, _gradientKernel!, .. _update!.All] : [_lossKernel];

    /// <summary>
    /// The loss of each of <paramref name="batch"/> boxes into the buffers' losses, and its gradient, weighted by
    /// <paramref name="pointWeight"/> for the first <paramref name="points"/> and <paramref name="boxWeight"/> for the rest,
    /// back to dμ and dρ of the last bounded layer; elided, the last layer's parameter gradient too.
    /// </summary>
    public void Run(IlgpuWorkspace workspace, IlgpuIntervalBuffers buffers, int batch, int points, float pointWeight, float boxWeight)
    {
        int last = _architecture.Layers.Length - 1;
        if (!Elides)
        {
            _kernels.Load(_lossKernel, out OutputLossLauncher loss);
            loss(workspace.Stream, batch, workspace.Status, buffers.ZLower(last), buffers.ZUpper(last), buffers.Lower(last), buffers.Upper(last), workspace.Labels,
                new IntervalRule(_architecture.Layers[last].Activation, widen: false), buffers.Differences, buffers.Losses,
                buffers.CenterGradients(last), buffers.RadiusGradients(last), _outputs, points, pointWeight, boxWeight);
            return;
        }

        View h = buffers.Lower(last - 1), hUpper = buffers.Upper(last - 1);
        _kernels.Load(_lossKernel, out Action<AcceleratorStream, Index1D, ArrayView<int>, View, View, View, View, ArrayView<int>, View, View, SpecializedValue<DenseShape>, int, float, float> elidedLoss);
        elidedLoss(workspace.Stream, batch, workspace.Status, h, hUpper, workspace.Weights(last), workspace.Bias(last), workspace.Labels,
            buffers.Differences, buffers.Losses, _lastShape, points, pointWeight, boxWeight);

        _kernels.Load(_backwardKernel!, out Action<AcceleratorStream, Index1D, View, ArrayView<int>, View, View, View, IntervalRule, View, View, SpecializedValue<DenseShape>> backward);
        backward(workspace.Stream, batch * _lastShape.Value.Inputs, workspace.Weights(last), workspace.Labels, buffers.Differences,
            buffers.ZLower(last - 1), buffers.ZUpper(last - 1), new IntervalRule(_architecture.Layers[last - 1].Activation, widen: false),
            buffers.CenterGradients(last - 1), buffers.RadiusGradients(last - 1), _lastShape);

        _kernels.Load(_gradientKernel!, out Action<AcceleratorStream, Index1D, View, View, View, ArrayView<int>, View, View, SpecializedValue<DenseShape>, int> gradient);
        gradient(workspace.Stream, _architecture.Layers[last].ParameterCount, h, hUpper, workspace.Weights(last), workspace.Labels,
            buffers.Differences, buffers.LastLayerGradients, _lastShape, batch);
    }

    /// <summary>The elided last layer's optimizer step from the gradient <see cref="Run"/> left.</summary>
    public void Update<TRule>(IlgpuWorkspace workspace, IlgpuIntervalBuffers buffers, in TRule rule, int step)
        where TRule : struct, IUpdateRule
    {
        int last = _architecture.Layers.Length - 1;
        View weights = workspace.Weights(last);
        View mask = _masked ? workspace.Mask(last) : weights;
        _update!.Launcher<TRule, Action<AcceleratorStream, Index1D, ArrayView<int>, View, View, View, View, View, View, View, View, TRule, int>>()(
            workspace.Stream, _architecture.Layers[last].ParameterCount, workspace.Status, buffers.LastLayerGradients, weights, workspace.Bias(last),
            workspace.WeightsMomentum(last), workspace.BiasMomentum(last), workspace.WeightsSecondMoment(last), workspace.BiasSecondMoment(last), mask, rule, step);
    }
}
