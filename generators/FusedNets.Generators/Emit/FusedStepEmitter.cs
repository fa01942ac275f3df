using System;
using System.Linq;
using FusedNets.Generators.Kinds;
using FusedNets.Generators.Model;

namespace FusedNets.Generators.Emit;

/// <summary>
/// For narrow networks (every layer at most <see cref="MaxWidth"/> units) writes one kernel that runs a
/// training step's forward, loss and backward for a tile of the batch, in the spirit of tiny-cuda-nn's fully
/// fused MLP: a thread group carries <see cref="Samples"/> samples through every layer with the activations
/// in shared memory. It also writes z, y and dz to the workspace, where the per-layer update kernels (which
/// sum over the whole batch) read them. A step is then 1 + L launches instead of 3L + 1.
/// </summary>
internal static class FusedStepEmitter
{
    /// <summary>The widest layer the fused step takes: one thread per unit, and shared rows of this width.</summary>
    public const int MaxWidth = 128;

    /// <summary>Samples per thread group: each weight a thread reads serves this many samples from cache.</summary>
    public const int Samples = 8;

    private const string FloatView = IlgpuKernelEmitter.FloatView, IntView = IlgpuKernelEmitter.IntView;
    private const string Index1D = IlgpuKernelEmitter.Index1D, KernelConfig = IlgpuKernelEmitter.KernelConfig, SgdStep = IlgpuKernelEmitter.SgdStep;

    public static bool Applies(NetworkModel network) => network.Layers.All(layer => layer.Units <= MaxWidth);

    /// <summary>The kernel's parameter types after its launch configuration.</summary>
    public static string Parameters(NetworkModel network) =>
        $"{IntView}, {FloatView}, {IlgpuKernelEmitter.TruthView(network)}, {FloatView}, {FloatView}, {FloatView}, float, int, int, int";

    public static void EmitTrainStepProgram(CodeWriter code, NetworkModel network)
    {
        string truth = IlgpuKernelEmitter.IsClassifier(network) ? "workspace.Labels" : "workspace.Targets";
        using (code.Block($"public override void TrainStep(global::FusedNets.Backends.Ilgpu.IlgpuWorkspace workspace, int batch, {SgdStep} sgd, int step, {FloatView} losses)"))
        {
            code.Line($"// Every layer at most {MaxWidth} wide: forward, loss and backward in one kernel, then each layer's update.");
            code.Line($"{KernelConfig} groups = new(new {Index1D}((batch + {Samples} - 1) / {Samples}), new {Index1D}({GroupSize(network)}));");
            code.Line($"_fusedStep(groups, workspace.Status, workspace.Input, {truth}, losses, workspace.Parameters, workspace.LayerValues, {IlgpuKernelEmitter.LossScale(network)}, batch, workspace.Capacity, step);");
            for (int l = network.Layers.Count - 1; l >= 0; l--)
            {
                IlgpuKernelEmitter.EmitUpdateLaunch(code, network, l);
            }
        }

        code.Line();
    }

    public static void EmitKernel(CodeWriter code, NetworkModel network)
    {
        int groupSize = GroupSize(network);
        string truth = IlgpuKernelEmitter.IsClassifier(network) ? $"{IntView} labels" : $"{FloatView} targets";
        code.Lines($$"""
            // ==== The training step, fused: forward, loss and backward of {{Samples}} samples per group of {{groupSize}} threads ====
            // x: (B, {{network.InputSize}}); parameters: the flat vector (each layer's W, then b); values: every layer's z, y and dz,
            // layer l's at capacity × 3 Σ_{k<l} units_k (IlgpuWorkspace.LayerValues). Shared memory holds the group's rows of the
            // current layer (activations going forward, deltas coming back) and of the next: ({{Samples}}, {{MaxWidth}}) each.
            private static void FusedStep({{IntView}} status, {{FloatView}} x, {{truth}}, {{FloatView}} losses, {{FloatView}} parameters, {{FloatView}} values, float scale, int batch, int capacity, int step)
            {
                if ({{IlgpuKernelEmitter.SkipAfterFailure}})
                {
                    return;
                }

                const int Samples = {{Samples}}, Width = {{MaxWidth}}, Threads = {{groupSize}};
                {{FloatView}} current = global::ILGPU.SharedMemory.Allocate<float>(Samples * Width);
                {{FloatView}} next = global::ILGPU.SharedMemory.Allocate<float>(Samples * Width);
                {{FloatView}} swap;
                int thread = global::ILGPU.Group.IdxX;
                int first = global::ILGPU.Grid.IdxX * Samples;
                int count = global::System.Math.Min(Samples, batch - first);

            """);

        int parameterOffset = 0, valueOffset = 0;
        int[] valueOffsets = new int[network.Layers.Count];
        int[] parameterOffsets = new int[network.Layers.Count];
        for (int l = 0; l < network.Layers.Count; l++)
        {
            valueOffsets[l] = valueOffset;
            parameterOffsets[l] = parameterOffset;
            valueOffset += 3 * network.Layers[l].Units;
            parameterOffset += (int)network.Layers[l].ParameterCount;
        }

        for (int l = 0; l < network.Layers.Count; l++)
        {
            DenseModel layer = (DenseModel)network.Layers[l];
            int weights = parameterOffsets[l], bias = weights + layer.WeightCount;
            string source = l == 0 ? $"x[(first + s) * {layer.Inputs} + input]" : "current[s * Width + input]";
            code.Lines($$"""
                    // {{layer.Name}} forward: z = W x + b, y = {{layer.Activation}}(z). W at parameters[{{weights}}], b at parameters[{{bias}}].
                    for (int output = thread; output < {{layer.Units}}; output += Threads)
                    {
                        for (int s = 0; s < count; s++)
                        {
                            float sum = parameters[{{bias}} + output];
                            for (int input = 0; input < {{layer.Inputs}}; input++)
                            {
                                sum += parameters[{{weights}} + output * {{layer.Inputs}} + input] * {{source}};
                            }

                            int at = (first + s) * {{layer.Units}} + output;
                            float y = {{IlgpuKernelEmitter.Activations}}.{{layer.Activation}}Kernel.Apply(sum);
                            values[capacity * {{valueOffsets[l]}} + at] = sum;
                            values[capacity * {{valueOffsets[l] + layer.Units}} + at] = y;
                            next[s * Width + output] = y;
                        }
                    }

                    global::ILGPU.Group.Barrier();
                    swap = current;
                    current = next;
                    next = swap;

                """);
        }

        EmitLoss(code, network, valueOffsets[network.Layers.Count - 1]);

        for (int l = network.Layers.Count - 1; l >= 1; l--)
        {
            DenseModel layer = (DenseModel)network.Layers[l], below = (DenseModel)network.Layers[l - 1];
            int weights = parameterOffsets[l];
            int belowValues = valueOffsets[l - 1];
            string derivative = below.IsIdentity
                ? "sum"
                : $"sum * {IlgpuKernelEmitter.Activations}.{below.Activation}Kernel.Derivative(values[capacity * {belowValues} + at], values[capacity * {belowValues + below.Units} + at])";
            code.Lines($$"""
                    // {{layer.Name}} backward to {{below.Name}}: dzBelow = (dz W) ⊙ {{below.Activation}}'(zBelow, yBelow), using W before its update.
                    for (int input = thread; input < {{layer.Inputs}}; input += Threads)
                    {
                        for (int s = 0; s < count; s++)
                        {
                            float sum = 0f;
                            for (int output = 0; output < {{layer.Units}}; output++)
                            {
                                sum += parameters[{{weights}} + output * {{layer.Inputs}} + input] * current[s * Width + output];
                            }

                            int at = (first + s) * {{layer.Inputs}} + input;
                            float dz = {{derivative}};
                            values[capacity * {{belowValues + 2 * below.Units}} + at] = dz;
                            next[s * Width + input] = dz;
                        }
                    }

                """);
            if (l > 1)
            {
                code.Lines("""
                        global::ILGPU.Group.Barrier();
                        swap = current;
                        current = next;
                        next = swap;

                    """);
            }
        }

        code.Line("}");
    }

    private static void EmitLoss(CodeWriter code, NetworkModel network, int outputValues)
    {
        DenseModel output = (DenseModel)network.OutputLayer;
        int units = output.Units;
        string derivative = output.IsIdentity
            ? ""
            : $"{IlgpuKernelEmitter.Activations}.{output.Activation}Kernel.Derivative(values[capacity * {outputValues} + at], yo)";
        string store = $$"""
                values[capacity * {{outputValues + 2 * units}} + at] = delta;
                next[row + o] = delta;
            """;
        string body = LossEmitter.Body(network, o => $"current[row + {o}]", $"sample * {units} + o", "scale", derivative, store);
        string loss = IlgpuKernelEmitter.IsClassifier(network) ? "softmax cross-entropy" : "mean squared error";
        code.Lines($$"""
                // Loss ({{loss}}) fused with dz of {{output.Name}}: one thread per sample of the group.
                // {{LossEmitter.Formula(network)}}
                if (thread < count)
                {
                    int sample = first + thread;
                    int row = thread * Width;
                    {{CodeWriter.Indent(body, 2)}}
                    {{IlgpuKernelEmitter.Checks}}.FlagIfNotFinite(status, step, losses[sample]);
                }

                global::ILGPU.Group.Barrier();
                swap = current;
                current = next;
                next = swap;

            """);
    }

    /// <summary>One thread per unit of the widest layer, in whole warps.</summary>
    private static int GroupSize(NetworkModel network) =>
        Math.Max(32, (network.Layers.Max(layer => layer.Units) + 31) / 32 * 32);
}
