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
    private const string Generated = "global::FusedNets.Generated";

    public static void Emit(CodeWriter code, NetworkModel network)
    {
        code.Lines($$"""
            /// <summary>The CPU program of this network: its layer schedule, with sizes and activations fixed.</summary>
            private sealed class CpuProgram : {{Generated}}.CpuProgram
            {
                public override {{Generated}}.CpuKernels<TVector, TOps> CreateKernels<TVector, TOps>() => new CpuKernels<TVector, TOps>();
            }

            /// <summary>This network's CPU kernels at one vector width: <typeparamref name="TOps"/> is AVX-512, AVX2 or scalar.</summary>
            private sealed class CpuKernels<TVector, TOps> : {{Generated}}.CpuKernels<TVector, TOps>
                where TVector : unmanaged
                where TOps : {{Generated}}.IVectorOps<TVector>
            """);
        using (code.Braces())
        {
            EmitPredict(code, network);
            code.Line();
            EmitForward(code, network);
            code.Line();
            EmitBackward(code, network);
            code.Line();
            EmitLoss(code, network);
        }
    }

    // "layer", not nameof(layer): in the user's namespace or class, nameof may name something else.
    private const string OutOfRange = "default: throw new global::System.ArgumentOutOfRangeException(\"layer\", layer, null);";

    private static string Kernel(string activation) => $"{Generated}.{activation}Kernel";

    private static string Pipeline => $"{Generated}.CpuPipeline<TVector, TOps>";

    /// <summary>The call of layer <paramref name="l"/>'s kind's <paramref name="phase"/> kernel with <paramref name="activation"/>.</summary>
    private static string KindCall(LayerModel layer, int l, string phase, string activation) =>
        $"{Generated}.{layer.CpuKernels}.{phase}<TVector, TOps, {Kernel(activation)}>(cpu, {l}, thread);";

    private static void EmitPredict(CodeWriter code, NetworkModel network)
    {
        code.Line($"// Layer `layer` for one sample, x: ({network.InputSize}) → y: ({network.OutputSize}); each thread computes its share.");
        using (code.Block($"public override void Predict({Pipeline} cpu, int layer, int thread)"))
        {
            using (code.Block("switch (layer)"))
            {
                for (int l = 0; l < network.Layers.Count; l++)
                {
                    LayerModel layer = network.Layers[l];
                    code.Line($"case {l}: {KindCall(layer, l, "Predict", layer.Activation)} break; // {layer.Name}: {layer.Declaration}");
                }

                code.Line(OutOfRange);
            }
        }
    }

    private static void EmitForward(CodeWriter code, NetworkModel network)
    {
        code.Line("// Layer `layer` forward, this thread's share; B is the batch padded to whole vectors.");
        using (code.Block($"public override void Forward({Pipeline} cpu, int layer, int thread)"))
        {
            using (code.Block("switch (layer)"))
            {
                for (int l = 0; l < network.Layers.Count; l++)
                {
                    LayerModel layer = network.Layers[l];
                    code.Line($"// {layer.Name}: {layer.Declaration}, {layer.Formula}, y = {layer.Activation}(z)    x: {layer.InputShape} × B, z and y: {layer.OutputShape} × B");
                    code.Line($"case {l}: {KindCall(layer, l, "Forward", layer.Activation)} break;");
                }

                code.Line(OutOfRange);
            }
        }
    }

    private static void EmitBackward(CodeWriter code, NetworkModel network)
    {
        code.Line("// Layer `layer` backward data, this thread's share: the delta of the layer below (layer 0's input gradient is the pipeline's).");
        using (code.Block($"public override void Backward({Pipeline} cpu, int layer, int thread)"))
        {
            using (code.Block("switch (layer)"))
            {
                for (int l = network.Layers.Count - 1; l > 0; l--)
                {
                    LayerModel layer = network.Layers[l];
                    LayerModel below = network.Layers[l - 1];
                    code.Line($"// {layer.Name}, from {layer.Formula} with x = {below.Activation}(z_{below.Name}): dz_{below.Name} = dL/dx ⊙ {below.Activation}'(z_{below.Name})    dz: {layer.OutputShape} × B, dz_{below.Name}: {layer.InputShape} × B");
                    code.Line($"case {l}: {KindCall(layer, l, "Backward", below.Activation)} break;");
                }

                code.Line(OutOfRange);
            }
        }
    }

    private static void EmitLoss(CodeWriter code, NetworkModel network)
    {
        LayerModel output = network.OutputLayer;
        code.Line($"// Loss: {network.Loss} of y_{output.Name}, fused with dz_{output.Name} = dL/dy ⊙ {output.Activation}'(z, y).");
        code.Line($"public override void Loss({Pipeline} cpu, int thread) => cpu.Loss<{Generated}.{network.Loss}Loss, {Kernel(output.Activation)}>(thread);");
    }
}
