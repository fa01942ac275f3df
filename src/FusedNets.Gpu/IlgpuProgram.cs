using FusedNets.Generated;
using ILGPU;
using ILGPU.Runtime;
using View = ILGPU.ArrayView<float>;

namespace FusedNets.Gpu;

/// <summary>
/// A network's schedule on one accelerator, built from its <see cref="NetworkArchitecture"/> at run time: one
/// <see cref="IlgpuLayer"/> per layer, the loss, and for narrow dense networks the fused training step. It holds loaded
/// kernels and no state; <see cref="IlgpuEngine"/> owns the buffers and calls these in order on the workspace's stream.
/// Every kernel takes the workspace's status and does nothing once a step has failed (see <see cref="KernelChecks"/>).
/// </summary>
internal sealed class IlgpuProgram
{
    private readonly KernelLibrary _kernels;
    private readonly NetworkArchitecture _architecture;
    private readonly IlgpuLayer[] _layers;
    private readonly KernelInstance _lossKernel;
    private readonly Action<AcceleratorStream, Index1D, ArrayView<int>, View, View, ArrayView<int>, View, View, View, SpecializedValue<int>, int, int, int> _loss;
    private readonly int _lossGroups;
    private readonly SpecializedValue<int> _outputs;
    private readonly FusedStep? _fusedStep;
    private readonly KernelLibrary _library;
    private readonly KernelInstance _seedKernel;
    private Action<AcceleratorStream, Index1D, View, View, View, View>? _seed;
    private readonly bool[] _masked;
    private CertifiedLoss? _certifiedLoss;

    public IlgpuProgram(Accelerator accelerator, NetworkArchitecture architecture, IReadOnlyList<float[]?> masks)
    {
        KernelLibrary kernels = KernelLibrary.On(accelerator);
        _kernels = kernels;
        _architecture = architecture;
        _layers = new IlgpuLayer[architecture.Layers.Length];
        _masked = [.. masks.Select(mask => mask is not null)];
        for (int l = 0; l < _layers.Length; l++)
        {
            _layers[l] = IlgpuLayer.Create(kernels, architecture, l, masked: masks[l] is not null);
        }

        _lossGroups = architecture.LossGroups;
        _outputs = SpecializedValue.New(architecture.OutputSize / _lossGroups);
        _lossKernel = KernelInstance.Of(typeof(LossKernels), nameof(LossKernels.Loss), [KernelTypes.Of(architecture.Loss), KernelTypes.Of(architecture.Layers[^1].Activation)], _outputs);
        kernels.Load(_lossKernel, out _loss);
        _fusedStep = FusedStep.Takes(architecture) ? new FusedStep(kernels, architecture) : null;
        _library = kernels;
        _seedKernel = KernelInstance.Of(typeof(IntervalKernels), nameof(IntervalKernels.Seed), [KernelTypes.Of(architecture.Layers[^1].Activation)], specialization: null);
    }

    /// <summary>
    /// The kernels of interval bounds, vector-Jacobian products and, for a classifier, certified training, compiled at
    /// their first launch (most networks never launch them).
    /// </summary>
    public IEnumerable<KernelInstance> RobustnessKernels =>
        _layers.Select(layer => layer.IntervalKernel).Append(_seedKernel)
            .Concat(_architecture.Loss == FusedNets.Loss.SoftmaxCrossEntropy ? _layers.SelectMany(layer => layer.CertifiedKernels).Concat(CertifiedLoss.Kernels) : []);

    /// <summary>Interval bound propagation through the first <paramref name="layers"/> layers, from the buffers' input bounds to theirs of each layer.</summary>
    public void IntervalBounds(IlgpuWorkspace workspace, IlgpuIntervalBuffers buffers, int batch, int layers)
    {
        for (int l = 0; l < layers; l++)
        {
            _layers[l].IntervalForward(_library, workspace, buffers, batch, training: false);
        }
    }

    /// <summary>
    /// One step of certified training (docs/research.md) on the <paramref name="batch"/> boxes in the buffers, with their
    /// labels in the workspace: the first <paramref name="points"/> boxes, of radius 0, weighted <paramref name="pointWeight"/>,
    /// the rest <paramref name="boxWeight"/>. The layers' bounds unwidened, the interval loss into the buffers' losses, then
    /// every layer backward through its bounds from the last, each updated by the step's rule after its backward has read
    /// its parameters. A loss or updated parameter that is not finite marks the step failed in the status.
    /// </summary>
    public void CertifiedStep(IlgpuWorkspace workspace, IlgpuIntervalBuffers buffers, int batch, int points, float pointWeight, float boxWeight, OptimizerStep optimizer)
    {
        CertifiedLoss loss = CertifiedLoss;
        int bounded = loss.Elides ? _layers.Length - 1 : _layers.Length;
        for (int l = 0; l < bounded; l++)
        {
            _layers[l].IntervalForward(_library, workspace, buffers, batch, training: true);
        }

        loss.Run(workspace, buffers, batch, points, pointWeight, boxWeight);
        if (loss.Elides)
        {
            var lastUpdate = new ElidedUpdate(loss, workspace, buffers);
            optimizer.Apply(ref lastUpdate);
        }

        for (int l = bounded - 1; l >= 0; l--)
        {
            if (l > 0)
            {
                _layers[l].IntervalBackward(_library, workspace, buffers, batch);
            }

            var update = new LayerIntervalUpdate(_layers[l], workspace, buffers, batch);
            optimizer.Apply(ref update);
        }
    }

    /// <summary>Certified training's loss phase, built at its first use and again after a mask of the last layer changes.</summary>
    private CertifiedLoss CertifiedLoss => _certifiedLoss ??= new CertifiedLoss(_library, _architecture, _masked[^1]);

    /// <summary>The seed of a vector-Jacobian product: the output layer's dz = v ⊙ f'(z, y), v held in the workspace's targets.</summary>
    public void Seed(IlgpuWorkspace workspace, int batch)
    {
        int last = _layers.Length - 1;
        if (_seed is null)
        {
            _library.Load(_seedKernel, out Action<AcceleratorStream, Index1D, View, View, View, View> seed);
            _seed = seed;
        }

        _seed(workspace.Stream, batch * _outputs.Value, workspace.PreActivation(last), workspace.Activation(last), workspace.Targets, workspace.Delta(last));
    }

    /// <summary>Every kernel the schedule launches, for the checks that compile them for GPUs without one.</summary>
    public IEnumerable<KernelInstance> Kernels =>
        _layers.SelectMany(layer => layer.Kernels).Append(_lossKernel).Concat(_fusedStep is null ? [] : [_fusedStep.Kernel]);

    /// <summary>Whether a training step runs as the fused kernel and the updates.</summary>
    public bool TakesFusedStep => _fusedStep is not null;

    /// <summary>Takes layer <paramref name="layer"/>'s update with or without a mask from now on, as a mask set by pruning asks.</summary>
    public void SetMasked(int layer, bool masked)
    {
        _layers[layer] = IlgpuLayer.Create(_kernels, _architecture, layer, masked);
        _masked[layer] = masked;
        _certifiedLoss = null;
    }

    /// <summary>Every layer forward: from the workspace's input to each layer's z and y.</summary>
    public void Forward(IlgpuWorkspace workspace, int batch)
    {
        foreach (IlgpuLayer layer in _layers)
        {
            layer.Forward(workspace, batch);
        }
    }

    /// <summary>
    /// The loss fused with its gradient: per-sample losses into <paramref name="losses"/> and the last layer's dz for the
    /// batch mean. A loss that is not finite marks <paramref name="step"/> failed in the status.
    /// </summary>
    public void Loss(IlgpuWorkspace workspace, int batch, int step, View losses)
    {
        int last = _layers.Length - 1;
        _loss(workspace.Stream, batch, workspace.Status, workspace.PreActivation(last), workspace.Activation(last),
            workspace.Labels, workspace.Targets, losses, workspace.Delta(last), _outputs, _lossGroups, batch, step);
    }

    /// <summary>
    /// Every layer backward from the last layer's dz: each layer's dz for the layer below (from the parameters before
    /// the step), then, with an <paramref name="optimizer"/> step, its parameters updated by it; the input gradient only
    /// when <paramref name="inputGradient"/>. An updated parameter or moment that is not finite marks <paramref name="step"/>
    /// failed in the status.
    /// </summary>
    public void Backward(IlgpuWorkspace workspace, int batch, OptimizerStep? optimizer, bool inputGradient, int step)
    {
        for (int l = _layers.Length - 1; l >= 0; l--)
        {
            if (l > 0 || inputGradient)
            {
                _layers[l].Backward(workspace, batch);
            }

            if (optimizer is { } rule)
            {
                Update(l, workspace, batch, rule, step);
            }
        }
    }

    /// <summary>One optimizer step on the batch in the workspace: the fused step and the updates, or forward, loss and backward.</summary>
    public void TrainStep(IlgpuWorkspace workspace, int batch, OptimizerStep optimizer, int step, View losses)
    {
        if (_fusedStep is null)
        {
            Forward(workspace, batch);
            Loss(workspace, batch, step, losses);
            Backward(workspace, batch, optimizer, inputGradient: false, step);
            return;
        }

        _fusedStep.Run(workspace, batch, step, losses);
        for (int l = _layers.Length - 1; l >= 0; l--)
        {
            Update(l, workspace, batch, optimizer, step);
        }
    }

    /// <summary>Layer <paramref name="layer"/>'s update, with the step's rule as its kernel's type argument.</summary>
    private void Update(int layer, IlgpuWorkspace workspace, int batch, OptimizerStep optimizer, int step)
    {
        var update = new LayerUpdate(_layers[layer], workspace, batch, step);
        optimizer.Apply(ref update);
    }

    private readonly struct LayerIntervalUpdate(IlgpuLayer layer, IlgpuWorkspace workspace, IlgpuIntervalBuffers buffers, int batch) : IUpdateRuleVisitor
    {
        public void Visit<TRule>(in TRule rule)
            where TRule : struct, IUpdateRule => layer.IntervalUpdate(workspace, buffers, batch, rule, step: 0);
    }

    private readonly struct ElidedUpdate(CertifiedLoss loss, IlgpuWorkspace workspace, IlgpuIntervalBuffers buffers) : IUpdateRuleVisitor
    {
        public void Visit<TRule>(in TRule rule)
            where TRule : struct, IUpdateRule => loss.Update(workspace, buffers, rule, step: 0);
    }

    private readonly struct LayerUpdate(IlgpuLayer layer, IlgpuWorkspace workspace, int batch, int step) : IUpdateRuleVisitor
    {
        public void Visit<TRule>(in TRule rule)
            where TRule : struct, IUpdateRule => layer.Update(workspace, batch, rule, step);
    }
}
