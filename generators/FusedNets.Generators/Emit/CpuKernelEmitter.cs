using FusedNets.Generators.Model;

namespace FusedNets.Generators.Emit;

/// <summary>
/// Writes a network's CPU program from the same layer model as its ILGPU kernels: per layer, which fused
/// SIMD product runs, with the layer's activation as a type argument (the JIT inlines its rule into the
/// product's epilogue) and its sizes as constants. The products themselves (register-blocked tiles, their
/// epilogues, the packed single-sample kernel) are the runtime's, compiled by the JIT once per vector width.
/// </summary>
internal static class CpuKernelEmitter
{
    private const string Cpu = "global::FusedNets.Backends.Cpu";

    public static void Emit(CodeWriter code, NetworkModel network)
    {
        code.Lines($$"""
            /// <summary>The CPU program of this network: its layer schedule, with sizes and activations fixed.</summary>
            private sealed class CpuProgram : {{Cpu}}.CpuProgram
            {
                public override {{Cpu}}.CpuKernels<TVector, TOps> CreateKernels<TVector, TOps>() => new CpuKernels<TVector, TOps>();
            }

            /// <summary>This network's CPU kernels at one vector width: <typeparamref name="TOps"/> is AVX-512, AVX2 or scalar.</summary>
            private sealed class CpuKernels<TVector, TOps> : {{Cpu}}.CpuKernels<TVector, TOps>
                where TVector : unmanaged
                where TOps : {{Cpu}}.IVectorOps<TVector>
            """);
        using (code.Braces())
        {
            EmitPredict(code, network);
            code.Line();
            EmitForward(code, network);
            code.Line();
            EmitBackward(code, network);
        }
    }

    // "layer", not nameof(layer): in the user's namespace or class, nameof may name something else.
    private const string OutOfRange = "default: throw new global::System.ArgumentOutOfRangeException(\"layer\", layer, null);";

    private static string Kernel(string activation) => $"{Cpu}.{activation}Kernel";

    private static string Pipeline => $"{Cpu}.CpuPipeline<TVector, TOps>";

    private static void EmitPredict(CodeWriter code, NetworkModel network)
    {
        code.Line($"// One sample, x: ({network.InputSize}) → y: ({network.OutputSize}); each thread computes its share of every layer's outputs.");
        using (code.Block($"public override void Predict({Pipeline} cpu, int thread)"))
        {
            for (int l = 0; l < network.Layers.Count; l++)
            {
                LayerModel layer = network.Layers[l];
                code.Line($"cpu.PredictLayer<{Kernel(layer.Activation)}>(thread, layer: {l}, inputs: {layer.Inputs}, units: {layer.Units}); // {layer.Name}: {layer.Activation}(W x + b)");
            }
        }
    }

    private static void EmitForward(CodeWriter code, NetworkModel network)
    {
        code.Line("// Layer `layer` forward for its output rows [start, end); B is the batch padded to whole vectors.");
        using (code.Block($"public override void Forward({Pipeline} cpu, int layer, int start, int end)"))
        {
            using (code.Block("switch (layer)"))
            {
                for (int l = 0; l < network.Layers.Count; l++)
                {
                    LayerModel layer = network.Layers[l];
                    code.Line($"// {layer.Name}: zᵀ = W xᵀ + b, yᵀ = {layer.Activation}(zᵀ)    xᵀ: ({layer.Inputs}, B), W: ({layer.Units}, {layer.Inputs}), zᵀ and yᵀ: ({layer.Units}, B)");
                    code.Line($"case {l}: cpu.ForwardRows<{Kernel(layer.Activation)}>({l}, start, end); break;");
                }

                code.Line(OutOfRange);
            }
        }
    }

    private static void EmitBackward(CodeWriter code, NetworkModel network)
    {
        code.Line("// Layer `layer` backward data for its input rows [start, end): the delta of the layer below, or the input gradient.");
        using (code.Block($"public override void Backward({Pipeline} cpu, int layer, int start, int end)"))
        {
            using (code.Block("switch (layer)"))
            {
                for (int l = network.Layers.Count - 1; l > 0; l--)
                {
                    LayerModel layer = network.Layers[l];
                    LayerModel below = network.Layers[l - 1];
                    code.Line($"// {layer.Name}, from zᵀ = W xᵀ + b with xᵀ = {below.Activation}(zᵀ_{below.Name}): dzᵀ_{below.Name} = (Wᵀ dzᵀ) ⊙ {below.Activation}'(zᵀ_{below.Name})    W: ({layer.Units}, {layer.Inputs}), dzᵀ: ({layer.Units}, B), dzᵀ_{below.Name}: ({layer.Inputs}, B)");
                    code.Line($"case {l}: cpu.BackwardRows<{Kernel(below.Activation)}>({l}, start, end); break;");
                }

                LayerModel first = network.Layers[0];
                code.Line($"// {first.Name}, from zᵀ = W xᵀ + b: dxᵀ = Wᵀ dzᵀ, the input gradient    W: ({first.Units}, {first.Inputs}), dzᵀ: ({first.Units}, B), dxᵀ: ({first.Inputs}, B)");
                code.Line("case 0: cpu.BackwardToInputs(start, end); break;");
                code.Line(OutOfRange);
            }
        }
    }
}
