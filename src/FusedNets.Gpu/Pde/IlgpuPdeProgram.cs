using FusedNets.Generated;
using ILGPU;
using ILGPU.Runtime;
using View = ILGPU.ArrayView<float>;

namespace FusedNets.Gpu;

/// <summary>
/// The kernels a physics-informed network launches on one accelerator, per layer: the dense layer's own tiled products
/// (<see cref="DenseKernels"/>, with the identity as activation, over every channel's rows), the activation across
/// channels forward and backward (<see cref="PdeKernels"/>), the weight gradient, and for the first layer its sums over
/// the ∂/∂x_i rows; and the optimizer step. Loaded once, like <see cref="IlgpuProgram"/>'s.
/// </summary>
internal sealed class IlgpuPdeProgram
{
    public IlgpuPdeProgram(KernelLibrary kernels, NetworkArchitecture architecture, IReadOnlyList<float[]?> masks)
    {
        Layers = new LayerKernels[architecture.Layers.Length];
        for (int l = 0; l < Layers.Length; l++)
        {
            LayerArchitecture layer = architecture.Layers[l];
            Layers[l] = new LayerKernels(kernels, layer, masks[l] is not null);
        }

        bool firstMasked = masks[0] is not null;
        FirstLayerSumsKernel = KernelInstance.Of(typeof(PdeKernels), nameof(PdeKernels.FirstLayerSums), [KernelTypes.MaskMode(firstMasked)], null);
        Step = new UpdateKernels(kernels, typeof(PdeKernels), nameof(PdeKernels.Step), [], null);
        kernels.Load(FirstLayerSumsKernel, out FirstLayerSums);
    }

    public LayerKernels[] Layers { get; }

    public KernelInstance FirstLayerSumsKernel { get; }

    /// <summary>The optimizer step from the stored gradient, per rule (<see cref="PdeKernels.Step{TRule}"/>), loaded at a rule's first step.</summary>
    public UpdateKernels Step { get; }

    public readonly Action<AcceleratorStream, Index1D, ArrayView<int>, View, View, View, ArrayView<int>, int, int, int> FirstLayerSums;

    /// <summary>Every kernel, for the checks that compile them for GPUs without one.</summary>
    public IEnumerable<KernelInstance> Kernels => Layers.SelectMany(layer => layer.Kernels).Append(FirstLayerSumsKernel).Concat(Step.All);

    /// <summary>One dense layer's kernels and its sizes.</summary>
    public sealed class LayerKernels
    {
        public LayerKernels(KernelLibrary kernels, LayerArchitecture layer, bool masked)
        {
            Shape = SpecializedValue.New(new DenseShape(layer.Inputs, layer.Units));
            Masked = masked;
            TileSide = KernelTypes.TileSide(layer.Units, layer.Inputs);
            Type tile = KernelTypes.Tile(TileSide), activation = KernelTypes.Of(layer.Activation), identity = typeof(IdentityKernel);
            ProductKernel = KernelInstance.Of(typeof(DenseKernels), nameof(DenseKernels.Forward), [identity, tile], Shape);
            TransposedProductKernel = KernelInstance.Of(typeof(DenseKernels), nameof(DenseKernels.Backward), [identity, tile], Shape);
            ActivationForwardKernel = KernelInstance.Of(typeof(PdeKernels), nameof(PdeKernels.ActivationForward), [activation], null);
            ActivationBackwardKernel = KernelInstance.Of(typeof(PdeKernels), nameof(PdeKernels.ActivationBackward), [activation], null);
            WeightGradientKernel = KernelInstance.Of(typeof(PdeKernels), nameof(PdeKernels.WeightGradient), [KernelTypes.MaskMode(masked), tile], Shape);
            kernels.Load(ProductKernel, out Product);
            kernels.Load(TransposedProductKernel, out TransposedProduct);
            kernels.Load(ActivationForwardKernel, out ActivationForward);
            kernels.Load(ActivationBackwardKernel, out ActivationBackward);
            kernels.Load(WeightGradientKernel, out WeightGradient);
        }

        public SpecializedValue<DenseShape> Shape { get; }

        public bool Masked { get; }

        public int TileSide { get; }

        public KernelInstance ProductKernel { get; }

        public KernelInstance TransposedProductKernel { get; }

        public KernelInstance ActivationForwardKernel { get; }

        public KernelInstance ActivationBackwardKernel { get; }

        public KernelInstance WeightGradientKernel { get; }

        /// <summary>z (rows, Units) = x (rows, Inputs) Wᵀ + b, written to z and y alike (the identity's activation).</summary>
        public readonly Action<AcceleratorStream, KernelConfig, ArrayView<int>, View, View, View, View, View, SpecializedValue<DenseShape>, int> Product;

        /// <summary>dx (rows, Inputs) = dz (rows, Units) W, times the identity's derivative.</summary>
        public readonly Action<AcceleratorStream, KernelConfig, ArrayView<int>, View, View, View, View, View, SpecializedValue<DenseShape>, int> TransposedProduct;

        public readonly Action<AcceleratorStream, Index1D, ArrayView<int>, View, View, View, ArrayView<int>, PdeTermShape, int, int, int> ActivationForward;

        public readonly Action<AcceleratorStream, Index1D, ArrayView<int>, View, View, View, View, ArrayView<int>, PdeTermShape, int, int, int> ActivationBackward;

        public readonly Action<AcceleratorStream, KernelConfig, ArrayView<int>, View, View, View, View, SpecializedValue<DenseShape>, int, int> WeightGradient;

        public IEnumerable<KernelInstance> Kernels => [ProductKernel, TransposedProductKernel, ActivationForwardKernel, ActivationBackwardKernel, WeightGradientKernel];

        /// <summary>Square thread groups covering a (rows, columns) result.</summary>
        public KernelConfig Tiles(int columns, int rows) =>
            new(new Index2D((columns + TileSide - 1) / TileSide, (Math.Max(rows, 1) + TileSide - 1) / TileSide), new Index2D(TileSide, TileSide));
    }
}
