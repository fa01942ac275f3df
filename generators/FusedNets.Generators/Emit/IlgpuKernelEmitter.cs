using System.Linq;
using FusedNets.Generators.Kinds;
using FusedNets.Generators.Model;

namespace FusedNets.Generators.Emit;

/// <summary>
/// Writes a network's ILGPU kernels, sizes as constants, and the program that launches them in order.
/// Per dense layer, three shared-memory tiled products: the forward (W x + b and the activation in its
/// epilogue), then right below it the backward: the delta for the layer beneath (dz W fused with that layer's
/// activation derivative) and the weight and bias gradients fused with the SGD update. One kernel fuses
/// the loss with dL/dz.
/// </summary>
internal static class IlgpuKernelEmitter
{
    internal const string Activations = "global::FusedNets.Generated";
    internal const string Checks = "global::FusedNets.Backends.Ilgpu.KernelChecks";

    // Every type in full, as everywhere in generated code: a type of the user's named like a short alias of
    // these (a network class called SgdStep, a FloatView beside it) would take the alias's place.
    internal const string FloatView = "global::ILGPU.ArrayView<float>";
    internal const string IntView = "global::ILGPU.ArrayView<int>";
    internal const string Index1D = "global::ILGPU.Index1D";
    internal const string KernelConfig = "global::ILGPU.KernelConfig";
    internal const string SgdStep = "global::FusedNets.SgdStep";

    /// <summary>
    /// The first line of every tiled kernel: once a step has produced a value that is not finite, every later
    /// kernel does nothing, so the parameters snapshotted before that step are the last good ones. The whole
    /// group agrees on the answer, so no thread skips a barrier its neighbours wait at.
    /// </summary>
    internal const string SkipAfterFailure = "global::ILGPU.Group.BarrierOr(status[0] != 0)";

    /// <summary>Whether this emitter writes the network's kernels: it knows dense layers only.</summary>
    public static bool Applies(NetworkModel network) => network.Layers.All(layer => layer is DenseModel);

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
            if (FusedStepEmitter.Applies(network))
            {
                FusedStepEmitter.EmitTrainStepProgram(code, network);
            }

            for (int l = 0; l < network.Layers.Count; l++)
            {
                EmitLayerKernels(code, network, l);
            }

            EmitLossKernel(code, network);
            if (FusedStepEmitter.Applies(network))
            {
                code.Line();
                FusedStepEmitter.EmitKernel(code, network);
            }
        }
    }

    // ---- Launch program ------------------------------------------------------------------------

    private static void EmitKernelFields(CodeWriter code, NetworkModel network)
    {
        for (int l = 0; l < network.Layers.Count; l++)
        {
            DenseModel layer = (DenseModel)network.Layers[l];
            code.Line($"private readonly global::System.Action<{KernelConfig}, {IntView}, {Views(5)}, int> {Field(layer, "Forward")};");
            code.Line(l == 0
                ? $"private readonly global::System.Action<{KernelConfig}, {IntView}, {Views(3)}, int> {Field(layer, "InputGradient")};"
                : $"private readonly global::System.Action<{KernelConfig}, {IntView}, {Views(BackwardViews(network, l))}, int> {Field(layer, "Backward")};");
            code.Line($"private readonly global::System.Action<{KernelConfig}, {IntView}, {Views(UpdateViews(layer))}, {SgdStep}, int, int> {Field(layer, "Update")};");
        }

        code.Line($"private readonly global::System.Action<{Index1D}, {IntView}, {FloatView}, {FloatView}, {TruthView(network)}, {FloatView}, {FloatView}, float, int> _loss;");
        if (FusedStepEmitter.Applies(network))
        {
            code.Line($"private readonly global::System.Action<{KernelConfig}, {FusedStepEmitter.Parameters(network)}> _fusedStep;");
        }

        code.Line();
    }

    private static void EmitConstructor(CodeWriter code, NetworkModel network)
    {
        const string LoadTiled = "global::ILGPU.Runtime.KernelLoaders.LoadStreamKernel";
        const string LoadAuto = "global::ILGPU.Runtime.KernelLoaders.LoadAutoGroupedStreamKernel";
        using (code.Block("public IlgpuKernels(global::ILGPU.Runtime.Accelerator accelerator)"))
        {
            for (int l = 0; l < network.Layers.Count; l++)
            {
                DenseModel layer = (DenseModel)network.Layers[l];
                code.Line($"{Field(layer, "Forward")} = {LoadTiled}<{IntView}, {Views(5)}, int>(accelerator, {layer.Name}Forward);");
                code.Line(l == 0
                    ? $"{Field(layer, "InputGradient")} = {LoadTiled}<{IntView}, {Views(3)}, int>(accelerator, {layer.Name}InputGradient);"
                    : $"{Field(layer, "Backward")} = {LoadTiled}<{IntView}, {Views(BackwardViews(network, l))}, int>(accelerator, {layer.Name}Backward);");
                code.Line($"{Field(layer, "Update")} = {LoadTiled}<{IntView}, {Views(UpdateViews(layer))}, {SgdStep}, int, int>(accelerator, {layer.Name}Update);");
            }

            code.Line($"_loss = {LoadAuto}<{Index1D}, {IntView}, {FloatView}, {FloatView}, {TruthView(network)}, {FloatView}, {FloatView}, float, int>(accelerator, {LossKernelName(network)});");
            if (FusedStepEmitter.Applies(network))
            {
                code.Line($"_fusedStep = {LoadTiled}<{FusedStepEmitter.Parameters(network)}>(accelerator, FusedStep);");
            }
        }

        code.Line();
    }

    private static void EmitForwardProgram(CodeWriter code, NetworkModel network)
    {
        using (code.Block("public override void Forward(global::FusedNets.Backends.Ilgpu.IlgpuWorkspace workspace, int batch)"))
        {
            for (int l = 0; l < network.Layers.Count; l++)
            {
                DenseModel layer = (DenseModel)network.Layers[l];
                string input = l == 0 ? "workspace.Input" : $"workspace.Activation({l - 1})";
                code.Line($"{Field(layer, "Forward")}(Tiles({layer.Units}, batch, {Tile(layer)}), workspace.Status, {input}, workspace.Weights({l}), workspace.Bias({l}), workspace.PreActivation({l}), workspace.Activation({l}), batch);");
            }
        }

        code.Line();
    }

    private static void EmitLossProgram(CodeWriter code, NetworkModel network)
    {
        int last = network.Layers.Count - 1;
        string truth = IsClassifier(network) ? "workspace.Labels" : "workspace.Targets";
        using (code.Block($"public override void Loss(global::FusedNets.Backends.Ilgpu.IlgpuWorkspace workspace, int batch, int step, {FloatView} losses)"))
        {
            code.Line($"_loss(batch, workspace.Status, workspace.PreActivation({last}), workspace.Activation({last}), {truth}, losses, workspace.Delta({last}), {LossScale(network)}, step);");
        }

        code.Line();
    }

    private static void EmitBackwardProgram(CodeWriter code, NetworkModel network)
    {
        using (code.Block($"public override void Backward(global::FusedNets.Backends.Ilgpu.IlgpuWorkspace workspace, int batch, {SgdStep} sgd, bool update, bool inputGradient, int step)"))
        {
            code.Line("// From the output down; each layer's delta for the layer below uses its weights before their update.");
            for (int l = network.Layers.Count - 1; l >= 0; l--)
            {
                DenseModel layer = (DenseModel)network.Layers[l];
                string tiles = $"Tiles({layer.Inputs}, batch, {Tile(layer)})";
                if (l > 0)
                {
                    string derivativeViews = network.Layers[l - 1].IsIdentity ? "" : $", workspace.PreActivation({l - 1}), workspace.Activation({l - 1})";
                    code.Line($"{Field(layer, "Backward")}({tiles}, workspace.Status, workspace.Weights({l}), workspace.Delta({l}){derivativeViews}, workspace.Delta({l - 1}), batch);");
                }
                else
                {
                    using (code.Block("if (inputGradient)"))
                    {
                        code.Line($"{Field(layer, "InputGradient")}({tiles}, workspace.Status, workspace.Weights(0), workspace.Delta(0), workspace.InputGradient, batch);");
                    }

                    code.Line();
                }

                using (code.Block("if (update)"))
                {
                    EmitUpdateLaunch(code, network, l);
                }

                if (l > 0)
                {
                    code.Line();
                }
            }
        }

        code.Line();
    }

    internal static void EmitUpdateLaunch(CodeWriter code, NetworkModel network, int l)
    {
        DenseModel layer = (DenseModel)network.Layers[l];
        string input = l == 0 ? "workspace.Input" : $"workspace.Activation({l - 1})";
        string mask = layer.Mask.IsMasked ? $", workspace.Mask({l})" : "";
        code.Line($"{Field(layer, "Update")}(Tiles({layer.Inputs}, {layer.Units}, {Tile(layer)}), workspace.Status, {input}, workspace.Delta({l}), workspace.Weights({l}), workspace.Bias({l}), workspace.WeightsMomentum({l}), workspace.BiasMomentum({l}){mask}, sgd, batch, step);");
    }

    // ---- Kernels -------------------------------------------------------------------------------

    private static void EmitLayerKernels(CodeWriter code, NetworkModel network, int l)
    {
        DenseModel layer = (DenseModel)network.Layers[l];
        string inputName = l == 0 ? network.InputName : network.Layers[l - 1].Name;
        int inputs = layer.Inputs, units = layer.Units, tile = Tile(layer);
        string mask = layer.Mask.Kind switch
        {
            MaskKind.Function => $", masked by {layer.Mask.Method}",
            MaskKind.Random => $", masked at random (density {layer.Mask.Density.ToString("R", System.Globalization.CultureInfo.InvariantCulture)})",
            _ => "",
        };

        code.Lines($$"""
            // ==== {{layer.Name}}: Dense({{units}}, {{layer.Activation}}) over {{inputName}}{{mask}} ====
            // x: (B, {{inputs}}), W: ({{units}}, {{inputs}}), b: ({{units}}), z and y: (B, {{units}}). Tiles of {{tile}} × {{tile}}.

            // Forward: z = W x + b; y = {{layer.Activation}}(z); the product Z (B, {{units}}) = X (B, {{inputs}}) Wᵀ.
            // A group computes a tile of Z, thread (row, column) = (sample, output); each pass stages a tile of X and
            // of W in shared memory, so each value loaded is used {{tile}} times. Saves z and y for the backward.
            private static void {{layer.Name}}Forward({{IntView}} status, {{FloatView}} x, {{FloatView}} w, {{FloatView}} b, {{FloatView}} z, {{FloatView}} y, int batch)
            {
                if ({{SkipAfterFailure}})
                {
                    return;
                }

                const int Tile = {{tile}}, Stride = Tile + 1; // the padding keeps column reads off one shared-memory bank
                {{FloatView}} xTile = global::ILGPU.SharedMemory.Allocate<float>(Tile * Stride);
                {{FloatView}} wTile = global::ILGPU.SharedMemory.Allocate<float>(Tile * Stride);
                int row = global::ILGPU.Group.IdxY, column = global::ILGPU.Group.IdxX;
                int firstSample = global::ILGPU.Grid.IdxY * Tile, firstOutput = global::ILGPU.Grid.IdxX * Tile;
                float sum = 0f;
                for (int k = 0; k < {{inputs}}; k += Tile)
                {
                    int input = k + column;
                    xTile[row * Stride + column] = firstSample + row < batch && input < {{inputs}} ? x[(firstSample + row) * {{inputs}} + input] : 0f;
                    wTile[row * Stride + column] = firstOutput + row < {{units}} && input < {{inputs}} ? w[(firstOutput + row) * {{inputs}} + input] : 0f;
                    global::ILGPU.Group.Barrier();
                    for (int j = 0; j < Tile; j++)
                    {
                        sum += xTile[row * Stride + j] * wTile[column * Stride + j];
                    }

                    global::ILGPU.Group.Barrier();
                }

                int sample = firstSample + row, output = firstOutput + column;
                if (sample < batch && output < {{units}})
                {
                    float pre = sum + b[output];
                    z[sample * {{units}} + output] = pre;
                    y[sample * {{units}} + output] = {{Activations}}.{{layer.Activation}}Kernel.Apply(pre);
                }
            }

            """);

        string target = l == 0 ? "dx" : "dzBelow";
        string derivativeParameters = l > 0 && !network.Layers[l - 1].IsIdentity ? $"{FloatView} zBelow, {FloatView} yBelow, " : "";
        string store = l > 0 && !network.Layers[l - 1].IsIdentity
            ? $"sum * {Activations}.{network.Layers[l - 1].Activation}Kernel.Derivative(zBelow[at], yBelow[at])"
            : "sum";
        string header = l == 0
            ? $$"""
                // Backward of z = W x + b to the network's input, on request: dx (B, {{inputs}}) = dz (B, {{units}}) W.
                private static void {{layer.Name}}InputGradient({{IntView}} status, {{FloatView}} w, {{FloatView}} dz, {{FloatView}} dx, int batch)
                """
            : $$"""
                // Backward of z = W x + b to the layer below, fused with {{network.Layers[l - 1].Name}}'s activation derivative:
                // dzBelow (B, {{inputs}}) = (dz (B, {{units}}) W) ⊙ {{network.Layers[l - 1].Activation}}'(zBelow, yBelow). Thread (row, column) = (sample, input).
                private static void {{layer.Name}}Backward({{IntView}} status, {{FloatView}} w, {{FloatView}} dz, {{derivativeParameters}}{{FloatView}} dzBelow, int batch)
                """;
        code.Lines(header);
        code.Lines($$"""
            {
                if ({{SkipAfterFailure}})
                {
                    return;
                }

                const int Tile = {{tile}}, Stride = Tile + 1;
                {{FloatView}} dzTile = global::ILGPU.SharedMemory.Allocate<float>(Tile * Stride);
                {{FloatView}} wTile = global::ILGPU.SharedMemory.Allocate<float>(Tile * Stride);
                int row = global::ILGPU.Group.IdxY, column = global::ILGPU.Group.IdxX;
                int firstSample = global::ILGPU.Grid.IdxY * Tile, firstInput = global::ILGPU.Grid.IdxX * Tile;
                float sum = 0f;
                for (int k = 0; k < {{units}}; k += Tile)
                {
                    dzTile[row * Stride + column] = firstSample + row < batch && k + column < {{units}} ? dz[(firstSample + row) * {{units}} + k + column] : 0f;
                    wTile[row * Stride + column] = k + row < {{units}} && firstInput + column < {{inputs}} ? w[(k + row) * {{inputs}} + firstInput + column] : 0f;
                    global::ILGPU.Group.Barrier();
                    for (int j = 0; j < Tile; j++)
                    {
                        sum += dzTile[row * Stride + j] * wTile[j * Stride + column];
                    }

                    global::ILGPU.Group.Barrier();
                }

                int sample = firstSample + row, input = firstInput + column;
                if (sample < batch && input < {{inputs}})
                {
                    int at = sample * {{inputs}} + input;
                    {{target}}[at] = {{store}};
                }
            }

            """);

        bool masked = layer.Mask.IsMasked;
        code.Lines($$"""
            // Backward of z = W x + b to the parameters, fused with the SGD step; no gradient tensor is stored.
            // dW ({{units}}, {{inputs}}) = dzᵀ (B, {{units}})ᵀ x (B, {{inputs}}), thread (row, column) = (output, input); db[o] = Σ_s dz[s, o],
            // summed by the column-0 threads of the first column of groups from the dz tiles they already hold.
            // vw and vb: the momentum of W and b{{(masked ? $"; mask: ({units}, {inputs}), 1 where W trains and 0 where it stays zero" : "")}}.
            private static void {{layer.Name}}Update({{IntView}} status, {{FloatView}} x, {{FloatView}} dz, {{FloatView}} w, {{FloatView}} b, {{FloatView}} vw, {{FloatView}} vb, {{(masked ? FloatView + " mask, " : "")}}{{SgdStep}} sgd, int batch, int step)
            {
                if ({{SkipAfterFailure}})
                {
                    return;
                }

                const int Tile = {{tile}}, Stride = Tile + 1;
                {{FloatView}} dzTile = global::ILGPU.SharedMemory.Allocate<float>(Tile * Stride);
                {{FloatView}} xTile = global::ILGPU.SharedMemory.Allocate<float>(Tile * Stride);
                int row = global::ILGPU.Group.IdxY, column = global::ILGPU.Group.IdxX;
                int firstOutput = global::ILGPU.Grid.IdxY * Tile, firstInput = global::ILGPU.Grid.IdxX * Tile;
                bool sumsBias = global::ILGPU.Grid.IdxX == 0 && column == 0;
                float dw = 0f, db = 0f;
                for (int k = 0; k < batch; k += Tile)
                {
                    dzTile[row * Stride + column] = firstOutput + row < {{units}} && k + column < batch ? dz[(k + column) * {{units}} + firstOutput + row] : 0f;
                    xTile[row * Stride + column] = k + row < batch && firstInput + column < {{inputs}} ? x[(k + row) * {{inputs}} + firstInput + column] : 0f;
                    global::ILGPU.Group.Barrier();
                    for (int j = 0; j < Tile; j++)
                    {
                        dw += dzTile[row * Stride + j] * xTile[j * Stride + column];
                        db += dzTile[row * Stride + j];
                    }

                    global::ILGPU.Group.Barrier();
                }

                int output = firstOutput + row, input = firstInput + column;
                if (output < {{units}} && input < {{inputs}})
                {
                    int at = output * {{inputs}} + input;
            {{(masked ? "        dw *= mask[at];\n" : "")}}        w[at] = sgd.UpdateWeight(w[at], ref vw[at], dw);
                    {{Checks}}.FlagIfNotFinite(status, step, w[at]);
                }

                if (sumsBias && output < {{units}})
                {
                    b[output] = sgd.UpdateBias(b[output], ref vb[output], db);
                    {{Checks}}.FlagIfNotFinite(status, step, b[output]);
                }
            }

            """);
    }

    private static void EmitLossKernel(CodeWriter code, NetworkModel network)
    {
        DenseModel output = (DenseModel)network.OutputLayer;
        int units = output.Units;
        string derivative = output.IsIdentity ? "" : $"{Activations}.{output.Activation}Kernel.Derivative(z[at], yo)";
        string body = LossEmitter.Body(network, o => $"y[row + {o}]", "row + o", "scale", derivative, "    dz[at] = delta;");
        string what = IsClassifier(network)
            ? $"softmax cross-entropy over {output.Name}, fused with its gradient"
            : $"mean squared error over {output.Name}, fused with its gradient";
        code.Lines($$"""
            // ==== Loss: {{what}} ====
            // z, y{{(IsClassifier(network) ? "" : " and targets")}}: (B, {{units}}); {{(IsClassifier(network) ? "labels: (B); " : "")}}losses: (B); dz: (B, {{units}})
            // {{LossEmitter.Formula(network)}}. One thread per sample.
            private static void {{LossKernelName(network)}}({{Index1D}} sample, {{IntView}} status, {{FloatView}} z, {{FloatView}} y, {{TruthView(network)}} {{(IsClassifier(network) ? "labels" : "targets")}}, {{FloatView}} losses, {{FloatView}} dz, float scale, int step)
            {
                if (status[0] != 0)
                {
                    return;
                }

                int row = sample * {{units}};
                {{CodeWriter.Indent(body, 1)}}
                {{Checks}}.FlagIfNotFinite(status, step, losses[sample]);
            }
            """);
    }

    // ---- Names ---------------------------------------------------------------------------------

    internal static bool IsClassifier(NetworkModel network) => network.IsClassifier;

    private static string LossKernelName(NetworkModel network) => network.Loss + "Loss";

    /// <summary>The factor that turns per-sample gradients into the gradient of the batch mean.</summary>
    internal static string LossScale(NetworkModel network) =>
        IsClassifier(network) ? "1f / batch" : $"1f / (batch * {network.OutputSize})";

    /// <summary>
    /// The field holding a layer's loaded kernel: the kernel method's name after an underscore. The layer's name
    /// stays as declared, since layers may differ only in the case of their first letter (X and x).
    /// </summary>
    private static string Field(DenseModel layer, string kernel) => "_" + layer.Name + kernel;

    private static int BackwardViews(NetworkModel network, int l) => network.Layers[l - 1].IsIdentity ? 3 : 5;

    private static int UpdateViews(DenseModel layer) => layer.Mask.IsMasked ? 7 : 6;

    internal static string TruthView(NetworkModel network) => IsClassifier(network) ? IntView : FloatView;

    /// <summary>
    /// The side of a layer's square thread tiles: 16 (256 threads, each staged value reused 16 times) unless a
    /// dimension is so small that most of such a tile would idle.
    /// </summary>
    private static int Tile(DenseModel layer) => layer.Units >= 16 && layer.Inputs >= 16 ? 16 : 8;

    private static string Views(int count) => string.Join(", ", Enumerable.Repeat(FloatView, count));
}
