using ILGPU;

namespace FusedNets.Backends.Ilgpu;

/// <summary>
/// A network's compiled ILGPU kernels and the order they run in. The generator emits one subclass per
/// network, its kernels specialized to the declared sizes; <see cref="IlgpuEngine"/> owns the buffers and
/// calls these in sequence on the accelerator's default stream. Every kernel takes the workspace's status and does
/// nothing once a step has failed (see <see cref="KernelChecks"/>).
/// </summary>
public abstract class IlgpuProgram
{
    /// <summary>Every layer forward: from the workspace's input to each layer's pre-activation and activation.</summary>
    public abstract void Forward(IlgpuWorkspace workspace, int batch);

    /// <summary>
    /// The loss fused with its gradient: per-sample losses into <paramref name="losses"/> and the last layer's delta
    /// dL/dz, scaled for the batch mean. A loss that is not finite marks <paramref name="step"/> failed in the status.
    /// </summary>
    public abstract void Loss(IlgpuWorkspace workspace, int batch, int step, ArrayView<float> losses);

    /// <summary>
    /// Every layer backward from the last layer's delta: each layer's delta for the layer below, then its
    /// weights and bias updated by <paramref name="sgd"/> (skipped when <paramref name="update"/> is false);
    /// the input gradient only when <paramref name="inputGradient"/> is true. An updated parameter that is not finite
    /// marks <paramref name="step"/> failed in the status.
    /// </summary>
    public abstract void Backward(IlgpuWorkspace workspace, int batch, SgdStep sgd, bool update, bool inputGradient, int step);

    /// <summary>
    /// One SGD step on the batch in the workspace: by default forward, loss and backward with updates; narrow
    /// networks override it with a fused kernel.
    /// </summary>
    public virtual void TrainStep(IlgpuWorkspace workspace, int batch, SgdStep sgd, int step, ArrayView<float> losses)
    {
        Forward(workspace, batch);
        Loss(workspace, batch, step, losses);
        Backward(workspace, batch, sgd, update: true, inputGradient: false, step);
    }

    /// <summary>A launch of square <paramref name="tile"/> × <paramref name="tile"/> thread groups covering a (rows, columns) result.</summary>
    protected static KernelConfig Tiles(int columns, int rows, int tile) =>
        new(new Index2D((columns + tile - 1) / tile, (rows + tile - 1) / tile), new Index2D(tile, tile));
}
