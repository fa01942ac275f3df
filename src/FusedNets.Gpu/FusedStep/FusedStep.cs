using ILGPU;
using ILGPU.Runtime;
using View = ILGPU.ArrayView<float>;

namespace FusedNets.Gpu;

/// <summary>The launch of <see cref="FusedStepKernels.Step{TLayers}"/> for a narrow dense network: one group per <see cref="FusedStepKernels.Samples"/> samples.</summary>
internal sealed class FusedStep
{
    private readonly Action<AcceleratorStream, KernelConfig, ArrayView<int>, View, ArrayView<int>, View, View, View, View, ArrayView<int>, int, int, int> _step;
    private readonly int _groupSize;

    public FusedStep(KernelLibrary kernels, NetworkArchitecture architecture)
    {
        Kernel = KernelInstance.Of(typeof(FusedStepKernels), nameof(FusedStepKernels.Step), [LayersType(architecture)], specialization: null);
        kernels.Load(Kernel, out _step);

        // One thread per unit of the widest layer, in whole warps.
        _groupSize = Math.Max(32, (architecture.Layers.Max(layer => layer.Units) + 31) / 32 * 32);
    }

    public KernelInstance Kernel { get; }

    /// <summary>Every layer dense and at most <see cref="FusedStepKernels.MaxWidth"/> units wide, and one loss over the output (not an ensemble's).</summary>
    public static bool Takes(NetworkArchitecture architecture) =>
        architecture.LossGroups == 1 && architecture.Layers.All(layer => layer is DenseLayerArchitecture && layer.Units <= FusedStepKernels.MaxWidth);

    /// <summary>Forward, loss and backward of the batch in the workspace; per-sample losses into <paramref name="losses"/>.</summary>
    public void Run(IlgpuWorkspace workspace, int batch, int step, View losses)
    {
        var groups = new KernelConfig((batch + FusedStepKernels.Samples - 1) / FusedStepKernels.Samples, _groupSize);
        _step(workspace.Stream, groups, workspace.Status, workspace.Input, workspace.Labels, workspace.Targets, losses,
            workspace.Parameters, workspace.LayerValues, workspace.LayerTable, batch, workspace.Capacity, step);
    }

    /// <summary>The network as a type: <c>HiddenLayer&lt;f0, HiddenLayer&lt;f1, … OutputLayer&lt;fL-1, Loss&gt;&gt;&gt;</c>.</summary>
    private static Type LayersType(NetworkArchitecture architecture)
    {
        int last = architecture.Layers.Length - 1;
        Type layers = typeof(OutputLayer<,>).MakeGenericType(KernelTypes.Of(architecture.Layers[last].Activation), KernelTypes.Of(architecture.Loss));
        for (int l = last - 1; l >= 0; l--)
        {
            layers = typeof(HiddenLayer<,>).MakeGenericType(KernelTypes.Of(architecture.Layers[l].Activation), layers);
        }

        return layers;
    }
}
