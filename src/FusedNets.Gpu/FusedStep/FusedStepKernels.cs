using FusedNets.Generated;
using ILGPU;
using ILGPU.Runtime;

namespace FusedNets.Gpu;

/// <summary>
/// The training step of a narrow dense network (every layer at most <see cref="FusedStepKernels.MaxWidth"/> units) in
/// one kernel, in the spirit of tiny-cuda-nn's fully fused MLP: a group carries <see cref="FusedStepKernels.Samples"/>
/// samples through every layer forward, the loss, and every layer backward, the rows of the layer at hand in shared
/// memory. It also writes each layer's z, y and dz to the workspace, where the update kernels (which sum over the whole
/// batch) read them. A step is then 1 + L launches instead of 3L + 1.
/// </summary>
/// <remarks>
/// The layers are a type: <c>HiddenLayer&lt;Relu, HiddenLayer&lt;Relu, OutputLayer&lt;Identity, SoftmaxCrossEntropy&gt;&gt;&gt;</c>
/// for 784-128-128-10, so every activation and the loss are type arguments, as in the per-layer kernels; ILGPU inlines
/// the chain into one kernel body. Sizes come from the workspace's layer table.
/// </remarks>
internal static class FusedStepKernels
{
    /// <summary>Samples per group: each weight a thread reads serves this many samples from cache.</summary>
    public const int Samples = 8;

    /// <summary>The widest layer the fused step takes: one thread per unit, and shared rows of this width.</summary>
    public const int MaxWidth = 128;

    // x: (B, In); parameters: the flat parameter vector; values: every layer's z, y and dz (IlgpuWorkspace.LayerValues);
    // layers: the layer table (IlgpuWorkspace.LayerTable). Shared memory holds two (Samples, MaxWidth) buffers of rows
    // that alternate by layer: layer l's y goes forward in Rows(l), its dz comes back in Rows(l + 1).
    public static void Step<TLayers>(
        ArrayView<int> status,
        ArrayView<float> x,
        ArrayView<int> labels,
        ArrayView<float> targets,
        ArrayView<float> losses,
        ArrayView<float> parameters,
        ArrayView<float> values,
        ArrayView<int> layers,
        int batch,
        int capacity,
        int step)
        where TLayers : struct, IFusedLayers
    {
        if (KernelChecks.StepFailedInGroup(status))
        {
            return;
        }

        var state = new FusedStepState(
            status, x, labels, targets, losses, parameters, values, layers,
            SharedMemory.Allocate<float>(Samples * MaxWidth), SharedMemory.Allocate<float>(Samples * MaxWidth),
            first: Grid.IdxX * Samples, batch, capacity, step);
        TLayers.Run(state, 0);
    }

    // Layer l forward for the group's samples: z = W x + b, y = f(z), from the layer below's rows (the input's, from
    // global memory, for l = 0) into Rows(l), and z and y into values for the update and the backward.
    public static void Forward<TActivation>(in FusedStepState state, int layer)
        where TActivation : struct, IActivationKernel
    {
        FusedLayer sizes = state.Layer(layer);
        int inputs = sizes.Inputs, units = sizes.Units;
        ArrayView<float> w = state.Weights(sizes), b = state.Bias(sizes), z = state.Z(sizes), y = state.Y(sizes);
        ArrayView<float> rows = state.Rows(layer);
        ArrayView<float> source = layer == 0 ? state.X.SubView(state.First * inputs) : state.Rows(layer - 1);
        int sourceStride = layer == 0 ? inputs : MaxWidth;
        for (int output = state.Thread; output < units; output += state.Threads)
        {
            for (int s = 0; s < state.Count; s++)
            {
                float sum = b[output];
                for (int input = 0; input < inputs; input++)
                {
                    sum += w[output * inputs + input] * source[s * sourceStride + input];
                }

                int at = (state.First + s) * units + output;
                float activation = TActivation.Apply(sum);
                z[at] = sum;
                y[at] = activation;
                rows[s * MaxWidth + output] = activation;
            }
        }

        Group.Barrier();
    }

    // The loss on the last layer's rows, fused with its dz: one thread per sample of the group.
    // losses[s] = TLoss(y[s], label or targets), dz[s] = dL/dy ⊙ f'(z[s], y[s]), into Rows(l + 1) and values.
    public static void Loss<TLoss, TActivation>(in FusedStepState state, int layer)
        where TLoss : struct, IGpuLoss
        where TActivation : struct, IActivationKernel
    {
        FusedLayer sizes = state.Layer(layer);
        int units = sizes.Units;
        if (state.Thread < state.Count)
        {
            int sample = state.First + state.Thread;
            ArrayView<float> y = state.Rows(layer).SubView(state.Thread * MaxWidth, units);
            ArrayView<float> dz = state.Rows(layer + 1).SubView(state.Thread * MaxWidth, units);
            state.Losses[sample] = TLoss.Sample(y, state.Labels[sample], state.Targets.SubView(sample * units, units), dz, state.Batch);
            ArrayView<float> z = state.Z(sizes), dzValues = state.Dz(sizes);
            for (int o = 0; o < units; o++)
            {
                int at = sample * units + o;
                float delta = dz[o] * TActivation.Derivative(z[at], y[o]);
                dz[o] = delta;
                dzValues[at] = delta;
            }

            KernelChecks.FlagIfNotFinite(state.Status, state.Step, state.Losses[sample]);
        }

        Group.Barrier();
    }

    // Backward of layer l + 1's z = W x + b to its x, layer l's y, fused with layer l's activation derivative:
    // dz_l = (dz_{l+1} W_{l+1}) ⊙ f_l'(z_l, y_l), from Rows(l + 2) into Rows(l + 1) and values; W before its update.
    public static void BackwardInto<TActivation>(in FusedStepState state, int layer)
        where TActivation : struct, IActivationKernel
    {
        FusedLayer sizes = state.Layer(layer), aboveSizes = state.Layer(layer + 1);
        int inputs = aboveSizes.Inputs, units = aboveSizes.Units;
        ArrayView<float> w = state.Weights(aboveSizes), z = state.Z(sizes), y = state.Y(sizes), dzValues = state.Dz(sizes);
        ArrayView<float> dzAbove = state.Rows(layer + 2), dzRows = state.Rows(layer + 1);
        for (int input = state.Thread; input < inputs; input += state.Threads)
        {
            for (int s = 0; s < state.Count; s++)
            {
                float sum = 0f;
                for (int output = 0; output < units; output++)
                {
                    sum += w[output * inputs + input] * dzAbove[s * MaxWidth + output];
                }

                int at = (state.First + s) * inputs + input;
                float delta = sum * TActivation.Derivative(z[at], y[at]);
                dzValues[at] = delta;
                dzRows[s * MaxWidth + input] = delta;
            }
        }

        Group.Barrier();
    }
}

/// <summary>The layers of a fused step from one layer on, as a type (see <see cref="FusedStepKernels"/>).</summary>
internal interface IFusedLayers
{
    /// <summary>Layer <paramref name="layer"/> and every layer after it: forward, the loss at the end, then backward down to <paramref name="layer"/>'s dz.</summary>
    static abstract void Run(in FusedStepState state, int layer);
}

/// <summary>A layer with more layers after it: its forward, the rest of the network, then its dz from the layer above.</summary>
internal readonly struct HiddenLayer<TActivation, TAbove> : IFusedLayers
    where TActivation : struct, IActivationKernel
    where TAbove : struct, IFusedLayers
{
    public static void Run(in FusedStepState state, int layer)
    {
        FusedStepKernels.Forward<TActivation>(state, layer);
        TAbove.Run(state, layer + 1);
        FusedStepKernels.BackwardInto<TActivation>(state, layer);
    }
}

/// <summary>The last layer: its forward, then the loss and its dz.</summary>
internal readonly struct OutputLayer<TActivation, TLoss> : IFusedLayers
    where TActivation : struct, IActivationKernel
    where TLoss : struct, IGpuLoss
{
    public static void Run(in FusedStepState state, int layer)
    {
        FusedStepKernels.Forward<TActivation>(state, layer);
        FusedStepKernels.Loss<TLoss, TActivation>(state, layer);
    }
}

/// <summary>What every layer of a fused step reads: the group's samples, the buffers, the layer table and the shared rows.</summary>
internal readonly struct FusedStepState
{
    public readonly ArrayView<int> Status;
    public readonly ArrayView<float> X;
    public readonly ArrayView<int> Labels;
    public readonly ArrayView<float> Targets;
    public readonly ArrayView<float> Losses;
    public readonly ArrayView<float> Parameters;
    public readonly ArrayView<float> Values;
    public readonly ArrayView<int> Layers;
    public readonly ArrayView<float> Even;
    public readonly ArrayView<float> Odd;

    /// <summary>The group's first sample, and how many it carries (fewer in the last group).</summary>
    public readonly int First, Count;

    public readonly int Batch, Capacity, Step;

    /// <summary>This thread in its group, and the group's size: threads stride over a layer's units.</summary>
    public readonly int Thread, Threads;

    public FusedStepState(
        ArrayView<int> status,
        ArrayView<float> x,
        ArrayView<int> labels,
        ArrayView<float> targets,
        ArrayView<float> losses,
        ArrayView<float> parameters,
        ArrayView<float> values,
        ArrayView<int> layers,
        ArrayView<float> even,
        ArrayView<float> odd,
        int first,
        int batch,
        int capacity,
        int step)
    {
        Status = status;
        X = x;
        Labels = labels;
        Targets = targets;
        Losses = losses;
        Parameters = parameters;
        Values = values;
        Layers = layers;
        Even = even;
        Odd = odd;
        First = first;
        Count = Math.Min(FusedStepKernels.Samples, batch - first);
        Batch = batch;
        Capacity = capacity;
        Step = step;
        Thread = Group.IdxX;
        Threads = Group.DimX;
    }

    /// <summary>A layer's row of the layer table, read once per phase: the kernel has no other way to know a layer's sizes.</summary>
    public FusedLayer Layer(int layer)
    {
        int row = IlgpuWorkspace.LayerTableColumns * layer;
        return new FusedLayer(Layers[row], Layers[row + 1], Layers[row + 2], Layers[row + 3]);
    }

    /// <summary>W of a layer: (Units, Inputs).</summary>
    public ArrayView<float> Weights(in FusedLayer layer) => Parameters.SubView(layer.ParameterOffset, layer.Units * layer.Inputs);

    /// <summary>b of a layer: (Units), right after W.</summary>
    public ArrayView<float> Bias(in FusedLayer layer) => Parameters.SubView(layer.ParameterOffset + layer.Units * layer.Inputs, layer.Units);

    /// <summary>z of a layer in the workspace: (Capacity, Units).</summary>
    public ArrayView<float> Z(in FusedLayer layer) => LayerValue(layer, 0);

    /// <summary>y of a layer in the workspace: (Capacity, Units).</summary>
    public ArrayView<float> Y(in FusedLayer layer) => LayerValue(layer, 1);

    /// <summary>dz of a layer in the workspace: (Capacity, Units).</summary>
    public ArrayView<float> Dz(in FusedLayer layer) => LayerValue(layer, 2);

    /// <summary>The shared rows (Samples, MaxWidth) of layer <paramref name="layer"/>'s y; the same buffer holds layer − 1's dz on the way back.</summary>
    public ArrayView<float> Rows(int layer) => (layer & 1) == 0 ? Even : Odd;

    private ArrayView<float> LayerValue(in FusedLayer layer, int which) =>
        Values.SubView((long)Capacity * (layer.ValueOffset + which * layer.Units), (long)Capacity * layer.Units);
}

/// <summary>One row of the layer table (see <see cref="IlgpuWorkspace.LayerTable"/>).</summary>
internal readonly record struct FusedLayer(int Inputs, int Units, int ParameterOffset, int ValueOffset);
