using System.Linq;
using FusedNets.Generators.Model;

namespace FusedNets.Generators.Emit;

/// <summary>
/// Writes a network's ILGPU kernels, sizes as constants, and the program that launches them in order.
/// Per dense layer: the forward (W x + b and the activation over the whole batch), then its backward
/// right below it: the delta for the layer beneath (Wᵀ dz fused with that layer's activation derivative)
/// and the weight and bias gradients fused with the SGD update. One kernel fuses the loss with dL/dz.
/// </summary>
internal static class IlgpuKernelEmitter
{
    private const string Activations = "global::FusedNets.Activations";

    public static void Emit(CodeWriter code, NetworkModel network)
    {
        code.Line("/// <summary>The ILGPU kernels of this network, specialized to its sizes, and their launch order.</summary>");
        using (code.Block("private sealed class IlgpuKernels : global::FusedNets.Backends.Ilgpu.IlgpuProgram"))
        {
            EmitKernelFields(code, network);
            EmitConstructor(code, network);
            EmitForwardProgram(code, network);
            EmitLossProgram(code, network);
            EmitBackwardProgram(code, network);

            for (int l = 0; l < network.Layers.Count; l++)
            {
                EmitLayerKernels(code, network, l);
            }

            EmitLossKernel(code, network);
        }
    }

    // ---- Launch program ------------------------------------------------------------------------

    private static void EmitKernelFields(CodeWriter code, NetworkModel network)
    {
        for (int l = 0; l < network.Layers.Count; l++)
        {
            LayerModel layer = network.Layers[l];
            code.Line($"private readonly global::System.Action<Index1D, {Views(5)}> {Field(layer, "Forward")};");
            if (l > 0)
            {
                int views = network.Layers[l - 1].IsIdentity ? 3 : 5;
                code.Line($"private readonly global::System.Action<Index1D, {Views(views)}> {Field(layer, "Backward")};");
            }
            else
            {
                code.Line($"private readonly global::System.Action<Index1D, {Views(3)}> {Field(layer, "InputGradient")};");
            }

            int updateViews = layer.Mask.IsMasked ? 7 : 6;
            code.Line($"private readonly global::System.Action<Index1D, {Views(updateViews)}, SgdStep, int> {Field(layer, "Update")};");
        }

        code.Line($"private readonly global::System.Action<Index1D, FloatView, FloatView, {(IsClassifier(network) ? "IntView" : "FloatView")}, FloatView, FloatView, float> _loss;");
        code.Line();
    }

    private static void EmitConstructor(CodeWriter code, NetworkModel network)
    {
        const string Load = "global::ILGPU.Runtime.KernelLoaders.LoadAutoGroupedStreamKernel";
        using (code.Block("public IlgpuKernels(global::ILGPU.Runtime.Accelerator accelerator)"))
        {
            for (int l = 0; l < network.Layers.Count; l++)
            {
                LayerModel layer = network.Layers[l];
                code.Line($"{Field(layer, "Forward")} = {Load}<Index1D, {Views(5)}>(accelerator, {layer.Name}Forward);");
                if (l == 0)
                {
                    code.Line($"{Field(layer, "InputGradient")} = {Load}<Index1D, {Views(3)}>(accelerator, {layer.Name}InputGradient);");
                }
                else
                {
                    int views = network.Layers[l - 1].IsIdentity ? 3 : 5;
                    code.Line($"{Field(layer, "Backward")} = {Load}<Index1D, {Views(views)}>(accelerator, {layer.Name}Backward);");
                }

                int updateViews = layer.Mask.IsMasked ? 7 : 6;
                code.Line($"{Field(layer, "Update")} = {Load}<Index1D, {Views(updateViews)}, SgdStep, int>(accelerator, {layer.Name}Update);");
            }

            string truth = IsClassifier(network) ? "IntView" : "FloatView";
            code.Line($"_loss = {Load}<Index1D, FloatView, FloatView, {truth}, FloatView, FloatView, float>(accelerator, {LossKernelName(network)});");
        }

        code.Line();
    }

    private static void EmitForwardProgram(CodeWriter code, NetworkModel network)
    {
        using (code.Block("public override void Forward(global::FusedNets.Backends.Ilgpu.IlgpuWorkspace workspace, int batch)"))
        {
            for (int l = 0; l < network.Layers.Count; l++)
            {
                LayerModel layer = network.Layers[l];
                string input = l == 0 ? "workspace.Input" : $"workspace.Activation({l - 1})";
                code.Line($"{Field(layer, "Forward")}(batch * {layer.Units}, {input}, workspace.Weights({l}), workspace.Bias({l}), workspace.PreActivation({l}), workspace.Activation({l}));");
            }
        }

        code.Line();
    }

    private static void EmitLossProgram(CodeWriter code, NetworkModel network)
    {
        int last = network.Layers.Count - 1;
        string truth = IsClassifier(network) ? "workspace.Labels" : "workspace.Targets";
        using (code.Block("public override void Loss(global::FusedNets.Backends.Ilgpu.IlgpuWorkspace workspace, int batch)"))
        {
            code.Line($"_loss(batch, workspace.PreActivation({last}), workspace.Activation({last}), {truth}, workspace.Losses, workspace.Delta({last}), {LossScale(network)});");
        }

        code.Line();
    }

    private static void EmitBackwardProgram(CodeWriter code, NetworkModel network)
    {
        using (code.Block("public override void Backward(global::FusedNets.Backends.Ilgpu.IlgpuWorkspace workspace, int batch, SgdStep sgd, bool update, bool inputGradient)"))
        {
            code.Line("// From the output down; each layer's delta for the layer below uses its weights before their update.");
            for (int l = network.Layers.Count - 1; l >= 0; l--)
            {
                LayerModel layer = network.Layers[l];
                if (l > 0)
                {
                    string derivativeViews = network.Layers[l - 1].IsIdentity ? "" : $", workspace.PreActivation({l - 1}), workspace.Activation({l - 1})";
                    code.Line($"{Field(layer, "Backward")}(batch * {layer.Inputs}, workspace.Weights({l}), workspace.Delta({l}){derivativeViews}, workspace.Delta({l - 1}));");
                }
                else
                {
                    using (code.Block("if (inputGradient)"))
                    {
                        code.Line($"{Field(layer, "InputGradient")}(batch * {layer.Inputs}, workspace.Weights(0), workspace.Delta(0), workspace.InputGradient);");
                    }
                }

                string input = l == 0 ? "workspace.Input" : $"workspace.Activation({l - 1})";
                string mask = layer.Mask.IsMasked ? $", workspace.Mask({l})" : "";
                using (code.Block("if (update)"))
                {
                    code.Line($"{Field(layer, "Update")}({layer.Units} * ({layer.Inputs} + 1), {input}, workspace.Delta({l}), workspace.Weights({l}), workspace.Bias({l}), workspace.WeightsMomentum({l}), workspace.BiasMomentum({l}){mask}, sgd, batch);");
                }
            }
        }

        code.Line();
    }

    // ---- Kernels -------------------------------------------------------------------------------

    private static void EmitLayerKernels(CodeWriter code, NetworkModel network, int l)
    {
        LayerModel layer = network.Layers[l];
        string inputName = l == 0 ? network.InputName : network.Layers[l - 1].Name;
        int inputs = layer.Inputs, units = layer.Units;
        string mask = layer.Mask.Kind switch
        {
            MaskKind.Function => $", masked by {layer.Mask.Method}",
            MaskKind.Random => $", masked at random (density {layer.Mask.Density.ToString("R", System.Globalization.CultureInfo.InvariantCulture)})",
            _ => "",
        };

        code.Lines($$"""
            // ==== {{layer.Name}}: Dense({{units}}, {{layer.Activation}}) over {{inputName}}{{mask}} ====
            // x: (B, {{inputs}}), W: ({{units}}, {{inputs}}), b: ({{units}}), z and y: (B, {{units}})

            // Forward: z = W x + b; y = {{layer.Activation}}(z). Saves z and y for the backward. One thread per (sample, output).
            private static void {{layer.Name}}Forward(Index1D index, FloatView x, FloatView w, FloatView b, FloatView z, FloatView y)
            {
                int sample = index / {{units}};
                int output = index - sample * {{units}};
                float sum = b[output];
                for (int input = 0; input < {{inputs}}; input++)
                {
                    sum += w[output * {{inputs}} + input] * x[sample * {{inputs}} + input];
                }

                z[index] = sum;
                y[index] = {{Activations}}.{{layer.Activation}}(sum);
            }

            """);

        if (l == 0)
        {
            code.Lines($$"""
                // Backward of z = W x + b to the network's input, on request: dx = dz W. One thread per (sample, input).
                // dz: (B, {{units}}), dx: (B, {{inputs}})
                private static void {{layer.Name}}InputGradient(Index1D index, FloatView w, FloatView dz, FloatView dx)
                {
                    int sample = index / {{inputs}};
                    int input = index - sample * {{inputs}};
                    float sum = 0f;
                    for (int output = 0; output < {{units}}; output++)
                    {
                        sum += w[output * {{inputs}} + input] * dz[sample * {{units}} + output];
                    }

                    dx[index] = sum;
                }

                """);
        }
        else
        {
            LayerModel below = network.Layers[l - 1];
            bool identity = below.IsIdentity;
            code.Lines($$"""
                // Backward of z = W x + b to the layer below, fused with {{below.Name}}'s activation derivative:
                // dzBelow = (dz W) ⊙ {{below.Activation}}'(zBelow, yBelow). One thread per (sample, input).
                // dz: (B, {{units}}), zBelow, yBelow and dzBelow: (B, {{inputs}})
                private static void {{layer.Name}}Backward(Index1D index, FloatView w, FloatView dz, {{(identity ? "" : "FloatView zBelow, FloatView yBelow, ")}}FloatView dzBelow)
                {
                    int sample = index / {{inputs}};
                    int input = index - sample * {{inputs}};
                    float dx = 0f;
                    for (int output = 0; output < {{units}}; output++)
                    {
                        dx += w[output * {{inputs}} + input] * dz[sample * {{units}} + output];
                    }

                    dzBelow[index] = {{(identity ? "dx" : $"dx * {Activations}.{below.Activation}Derivative(zBelow[index], yBelow[index])")}};
                }

                """);
        }

        bool masked = layer.Mask.IsMasked;
        code.Lines($$"""
            // Backward of z = W x + b to the parameters, fused with the SGD step; no gradient tensor is stored.
            // dW[o, i] = Σ_s dz[s, o] x[s, i]; db[o] = Σ_s dz[s, o]. One thread per weight, plus one per bias (input == {{inputs}}).
            // vw and vb: the momentum of W and b{{(masked ? "; mask: (" + units + ", " + inputs + ") of 1 (trains) and 0 (fixed at zero)" : "")}}
            private static void {{layer.Name}}Update(Index1D index, FloatView x, FloatView dz, FloatView w, FloatView b, FloatView vw, FloatView vb, {{(masked ? "FloatView mask, " : "")}}SgdStep sgd, int batch)
            {
                int output = index / ({{inputs}} + 1);
                int input = index - output * ({{inputs}} + 1);
                if (input < {{inputs}})
                {
                    float dw = 0f;
                    for (int sample = 0; sample < batch; sample++)
                    {
                        dw += dz[sample * {{units}} + output] * x[sample * {{inputs}} + input];
                    }

                    int at = output * {{inputs}} + input;
            {{(masked ? "        dw *= mask[at];\n" : "")}}        w[at] = sgd.UpdateWeight(w[at], ref vw[at], dw);
                }
                else
                {
                    float db = 0f;
                    for (int sample = 0; sample < batch; sample++)
                    {
                        db += dz[sample * {{units}} + output];
                    }

                    b[output] = sgd.UpdateBias(b[output], ref vb[output], db);
                }
            }

            """);
    }

    private static void EmitLossKernel(CodeWriter code, NetworkModel network)
    {
        LayerModel output = network.OutputLayer;
        int units = output.Units;
        string derivative = output.IsIdentity ? "" : $" * {Activations}.{output.Activation}Derivative(z[at], y[at])";
        if (IsClassifier(network))
        {
            code.Lines($$"""
                // ==== Loss: softmax cross-entropy over {{output.Name}}, fused with its gradient ====
                // z, y: (B, {{units}}) from {{output.Name}}; labels: (B); losses: (B); dz: (B, {{units}})
                // loss = log Σ_o exp(y[o]) - y[label]; dz = (softmax(y) - onehot(label)) / B{{(output.IsIdentity ? "" : $" ⊙ {output.Activation}'(z, y)")}}. One thread per sample.
                private static void {{LossKernelName(network)}}(Index1D sample, FloatView z, FloatView y, IntView labels, FloatView losses, FloatView dz, float inverseBatch)
                {
                    int row = sample * {{units}};
                    float max = y[row];
                    for (int o = 1; o < {{units}}; o++)
                    {
                        max = global::System.MathF.Max(max, y[row + o]);
                    }

                    float sum = 0f;
                    for (int o = 0; o < {{units}}; o++)
                    {
                        sum += global::System.MathF.Exp(y[row + o] - max);
                    }

                    float logSum = max + global::System.MathF.Log(sum);
                    int label = labels[sample];
                    losses[sample] = logSum - y[row + label];
                    for (int o = 0; o < {{units}}; o++)
                    {
                        int at = row + o;
                        float dy = (global::System.MathF.Exp(y[at] - logSum) - (o == label ? 1f : 0f)) * inverseBatch;
                        dz[at] = dy{{derivative}};
                    }
                }
                """);
        }
        else
        {
            code.Lines($$"""
                // ==== Loss: mean squared error over {{output.Name}}, fused with its gradient ====
                // z, y and targets: (B, {{units}}); losses: (B); dz: (B, {{units}})
                // loss = Σ_o (y[o] - t[o])² / {{units}}; dz = 2 (y - t) / (B · {{units}}){{(output.IsIdentity ? "" : $" ⊙ {output.Activation}'(z, y)")}}. One thread per sample.
                private static void {{LossKernelName(network)}}(Index1D sample, FloatView z, FloatView y, FloatView targets, FloatView losses, FloatView dz, float inverseCount)
                {
                    int row = sample * {{units}};
                    float sum = 0f;
                    for (int o = 0; o < {{units}}; o++)
                    {
                        int at = row + o;
                        float error = y[at] - targets[at];
                        sum += error * error;
                        float dy = 2f * error * inverseCount;
                        dz[at] = dy{{derivative}};
                    }

                    losses[sample] = sum / {{units}};
                }
                """);
        }
    }

    // ---- Names ---------------------------------------------------------------------------------

    private static bool IsClassifier(NetworkModel network) => network.Loss == LossKind.SoftmaxCrossEntropy;

    private static string LossKernelName(NetworkModel network) => network.Loss + "Loss";

    /// <summary>The factor that turns per-sample gradients into the gradient of the batch mean.</summary>
    private static string LossScale(NetworkModel network) =>
        IsClassifier(network) ? "1f / batch" : $"1f / (batch * {network.OutputSize})";

    private static string Field(LayerModel layer, string kernel) =>
        "_" + char.ToLowerInvariant(layer.Name[0]) + layer.Name.Substring(1) + kernel;

    private static string Views(int count) => string.Join(", ", Enumerable.Repeat("FloatView", count));
}
