using FusedNets.Generated;
using ILGPU;

namespace FusedNets.Gpu;

/// <summary>
/// One layer of a network on an ILGPU accelerator: its kind's kernels, instantiated for its activation, its sizes and
/// the activation of the layer below, and their launches. Each kind implements it beside its kernels
/// (<c>Layers/&lt;Kind&gt;</c>); <see cref="IlgpuProgram"/> runs the layers phase by phase and knows no kind.
/// </summary>
/// <remarks>
/// Kernels are loaded once per accelerator (<see cref="KernelLibrary"/>) and specialized on the layer's sizes at their
/// first launch, so building a layer for a second network of the same architecture costs a few dictionary lookups.
/// </remarks>
internal abstract class IlgpuLayer(NetworkArchitecture network, int index)
{
    /// <summary>The layer's position in the network (0 reads the input).</summary>
    public int Index { get; } = index;

    public LayerArchitecture Architecture { get; } = network.Layers[index];

    /// <summary>The activation of the layer below, whose derivative the backward applies; the input's is the identity.</summary>
    protected Activation BelowActivation { get; } = index == 0 ? Activation.Identity : network.Layers[index - 1].Activation;

    /// <summary>Every kernel this layer launches, for the checks that compile them for GPUs without one.</summary>
    public abstract IEnumerable<KernelInstance> Kernels { get; }

    /// <summary>z = map(x), y = f(z) for <paramref name="batch"/> samples, into this layer's z and y.</summary>
    public abstract void Forward(IlgpuWorkspace workspace, int batch);

    /// <summary>
    /// From this layer's dz, with the parameters before this step's update: the dz of the layer below (its activation
    /// derivative fused in), or for the first layer dL/dx of the network's input.
    /// </summary>
    public abstract void Backward(IlgpuWorkspace workspace, int batch);

    /// <summary>The parameter gradient fused with the optimizer step of <typeparamref name="TRule"/>; nothing for a layer without parameters.</summary>
    public virtual void Update<TRule>(IlgpuWorkspace workspace, int batch, in TRule rule, int step)
        where TRule : struct, IUpdateRule
    {
    }

    /// <summary>The kernel that bounds this layer's outputs over boxes of its inputs (docs/research.md), compiled at its first launch: most networks never launch it.</summary>
    public abstract KernelInstance IntervalKernel { get; }

    /// <summary>
    /// Interval bound propagation: the bounds of z and y (batch, Units) in <paramref name="buffers"/> for
    /// <paramref name="batch"/> boxes of x, the bounds of the layer below (batch, Inputs). Sound for any float forward pass,
    /// or, for certified training (<paramref name="training"/>), the exact rule unwidened, whose gradient it takes.
    /// </summary>
    public abstract void IntervalForward(KernelLibrary kernels, IlgpuWorkspace workspace, IlgpuIntervalBuffers buffers, int batch, bool training);

    /// <summary>The kernels of certified training's backward through this layer's bounds (every update rule's), for the codegen checks.</summary>
    public abstract IEnumerable<KernelInstance> CertifiedKernels { get; }

    /// <summary>
    /// Certified training, from dμ and dρ of this layer's z bounds, with the parameters before this step's update: dμ and
    /// dρ of the layer below's z bounds, through its activation's interval rule. Not for the first layer.
    /// </summary>
    public abstract void IntervalBackward(KernelLibrary kernels, IlgpuWorkspace workspace, IlgpuIntervalBuffers buffers, int batch);

    /// <summary>Certified training: the parameter gradient of the bounds' loss fused with the optimizer step of <typeparamref name="TRule"/>; nothing for a layer without parameters.</summary>
    public virtual void IntervalUpdate<TRule>(IlgpuWorkspace workspace, IlgpuIntervalBuffers buffers, int batch, in TRule rule, int step)
        where TRule : struct, IUpdateRule
    {
    }

    /// <summary>The below activation's rule as certified training differentiates it: unwidened.</summary>
    protected IntervalRule BelowRule => new(BelowActivation, widen: false);

    /// <summary><paramref name="launcher"/>, loaded from <paramref name="kernels"/> on first use.</summary>
    protected static TLauncher LoadOnce<TLauncher>(KernelLibrary kernels, KernelInstance kernel, ref TLauncher? launcher)
        where TLauncher : Delegate
    {
        if (launcher is null)
        {
            kernels.Load(kernel, out TLauncher loaded);
            launcher = loaded;
        }

        return launcher;
    }

    /// <summary>The table of kinds: the GPU layer of <paramref name="network"/>'s layer <paramref name="index"/>.</summary>
    public static IlgpuLayer Create(KernelLibrary kernels, NetworkArchitecture network, int index, bool masked) => network.Layers[index] switch
    {
        DenseLayerArchitecture => new DenseLayer(kernels, network, index, masked),
        Conv2DLayerArchitecture => new Conv2DLayer(kernels, network, index, masked),
        MaxPool2DLayerArchitecture => new MaxPool2DLayer(kernels, network, index),
        AvgPool2DLayerArchitecture => new AvgPool2DLayer(kernels, network, index),
        var other => throw new NotSupportedException($"FusedNets.Gpu has no kernels for {other.Kind} layers ('{other.Name}')."),
    };

    /// <summary>x: what this layer reads, the network's input or the layer below's y.</summary>
    protected ArrayView<float> X(IlgpuWorkspace workspace) => Index == 0 ? workspace.Input : workspace.Activation(Index - 1);

    /// <summary>Where the backward writes dL/dx: the layer below's dz, or the network's input gradient.</summary>
    protected ArrayView<float> DX(IlgpuWorkspace workspace) => Index == 0 ? workspace.InputGradient : workspace.Delta(Index - 1);

    /// <summary>
    /// The z and y the below activation's derivative reads. The input has no pre-activation: it stands in for both, and
    /// the identity's derivative reads neither.
    /// </summary>
    protected (ArrayView<float> Z, ArrayView<float> Y) Below(IlgpuWorkspace workspace) =>
        Index == 0 ? (workspace.Input, workspace.Input) : (workspace.PreActivation(Index - 1), workspace.Activation(Index - 1));

    /// <summary>A launch of square <paramref name="tile"/> × <paramref name="tile"/> thread groups covering a (rows, columns) result.</summary>
    protected static KernelConfig Tiles(int columns, int rows, int tile) =>
        new(new Index2D((columns + tile - 1) / tile, (rows + tile - 1) / tile), new Index2D(tile, tile));
}
