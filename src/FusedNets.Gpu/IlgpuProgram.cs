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
    private readonly IlgpuLayer[] _layers;
    private readonly KernelInstance _lossKernel;
    private readonly Action<AcceleratorStream, Index1D, ArrayView<int>, View, View, ArrayView<int>, View, View, View, SpecializedValue<int>, int, int> _loss;
    private readonly SpecializedValue<int> _outputs;
    private readonly FusedStep? _fusedStep;
    private readonly KernelLibrary _library;
    private readonly KernelInstance _seedKernel;
    private Action<AcceleratorStream, Index1D, View, View, View, View>? _seed;

    public IlgpuProgram(Accelerator accelerator, NetworkArchitecture architecture, IReadOnlyList<float[]?> masks)
    {
        KernelLibrary kernels = KernelLibrary.On(accelerator);
        _layers = new IlgpuLayer[architecture.Layers.Length];
        for (int l = 0; l < _layers.Length; l++)
        {
            _layers[l] = IlgpuLayer.Create(kernels, architecture, l, masked: masks[l] is not null);
        }

        _outputs = SpecializedValue.New(architecture.OutputSize);
        _lossKernel = KernelInstance.Of(typeof(LossKernels), nameof(LossKernels.Loss), [KernelTypes.Of(architecture.Loss), KernelTypes.Of(architecture.Layers[^1].Activation)], _outputs);
        kernels.Load(_lossKernel, out _loss);
        _fusedStep = FusedStep.Takes(architecture) ? new FusedStep(kernels, architecture) : null;
        _library = kernels;
        _seedKernel = KernelInstance.Of(typeof(IntervalKernels), nameof(IntervalKernels.Seed), [KernelTypes.Of(architecture.Layers[^1].Activation)], specialization: null);
    }

    /// <summary>The kernels of interval bounds and vector-Jacobian products, compiled at their first launch (most networks never launch them).</summary>
    public IEnumerable<KernelInstance> RobustnessKernels => _layers.Select(layer => layer.IntervalKernel).Append(_seedKernel);

    /// <summary>Interval bound propagation through the first <paramref name="layers"/> layers, from the buffers' input bounds to theirs of each layer.</summary>
    public void IntervalBounds(IlgpuWorkspace workspace, IlgpuIntervalBuffers buffers, int batch, int layers)
    {
        for (int l = 0; l < layers; l++)
        {
            _layers[l].IntervalForward(_library, workspace, buffers.Lower(l - 1), buffers.Upper(l - 1), buffers.Lower(l), buffers.Upper(l), batch);
        }
    }

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
            workspace.Labels, workspace.Targets, losses, workspace.Delta(last), _outputs, batch, step);
    }

    /// <summary>
    /// Every layer backward from the last layer's dz: each layer's dz for the layer below (from the parameters before
    /// the step), then its parameters updated by <paramref name="sgd"/> (when <paramref name="update"/>); the input
    /// gradient only when <paramref name="inputGradient"/>. An updated parameter that is not finite marks
    /// <paramref name="step"/> failed in the status.
    /// </summary>
    public void Backward(IlgpuWorkspace workspace, int batch, SgdStep sgd, bool update, bool inputGradient, int step)
    {
        for (int l = _layers.Length - 1; l >= 0; l--)
        {
            if (l > 0 || inputGradient)
            {
                _layers[l].Backward(workspace, batch);
            }

            if (update)
            {
                _layers[l].Update(workspace, batch, sgd, step);
            }
        }
    }

    /// <summary>One SGD step on the batch in the workspace: the fused step and the updates, or forward, loss and backward.</summary>
    public void TrainStep(IlgpuWorkspace workspace, int batch, SgdStep sgd, int step, View losses)
    {
        if (_fusedStep is null)
        {
            Forward(workspace, batch);
            Loss(workspace, batch, step, losses);
            Backward(workspace, batch, sgd, update: true, inputGradient: false, step);
            return;
        }

        _fusedStep.Run(workspace, batch, step, losses);
        for (int l = _layers.Length - 1; l >= 0; l--)
        {
            _layers[l].Update(workspace, batch, sgd, step);
        }
    }
}
