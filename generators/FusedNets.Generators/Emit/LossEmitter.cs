using FusedNets.Generators.Kinds;
using FusedNets.Generators.Model;

namespace FusedNets.Generators.Emit;

/// <summary>
/// One sample's loss fused with its gradient, as statements for a kernel that owns the sample: the
/// per-layer loss kernel and the fused step both write it, and differ only in where the output layer's
/// values come from and where dz goes.
/// <code>
///   SoftmaxCrossEntropy: loss = log Σ_o exp(y_o) - y_label,     dz_o = (softmax(y)_o - [o = label]) · scale ⊙ f'
///   MeanSquaredError:    loss = Σ_o (y_o - t_o)² / Outputs,     dz_o = 2 (y_o - t_o) · scale ⊙ f'
/// </code>
/// </summary>
internal static class LossEmitter
{
    /// <summary>The loss and its gradient as a comment line for the kernel that computes them.</summary>
    public static string Formula(NetworkModel network)
    {
        DenseModel output = (DenseModel)network.OutputLayer;
        string derivative = output.IsIdentity ? "" : $" ⊙ {output.Activation}'(z, y)";
        return IlgpuKernelEmitter.IsClassifier(network)
            ? $"loss = log Σ_o exp(y[o]) - y[label]; dz = (softmax(y) - onehot(label)) / B{derivative}"
            : $"loss = Σ_o (y[o] - t[o])² / {output.Units}; dz = 2 (y - t) / (B · {output.Units}){derivative}";
    }

    /// <param name="network">The network whose output layer and loss these are.</param>
    /// <param name="output">Output o's activation y, as an expression of <c>o</c>.</param>
    /// <param name="at">The index of output o in the sample-major (B, Outputs) buffers: targets, and where the caller stores dz.</param>
    /// <param name="scale">The factor of the batch mean (see <see cref="IlgpuKernelEmitter.LossScale"/>).</param>
    /// <param name="derivative">f'(z, y) of the output activation, with <c>at</c> and <c>yo</c> (output o's y) in scope; empty for identity.</param>
    /// <param name="store">Statements that store <c>delta</c>, dz of output o.</param>
    /// <returns>Statements that set <c>losses[sample]</c> and run <paramref name="store"/> once per output.</returns>
    public static string Body(NetworkModel network, System.Func<string, string> output, string at, string scale, string derivative, string store)
    {
        int units = network.OutputSize;
        string timesDerivative = derivative.Length == 0 ? "" : $" * {derivative}";
        if (IlgpuKernelEmitter.IsClassifier(network))
        {
            return $$"""
                float max = {{output("0")}};
                for (int o = 1; o < {{units}}; o++)
                {
                    max = global::System.MathF.Max(max, {{output("o")}});
                }

                float sum = 0f;
                for (int o = 0; o < {{units}}; o++)
                {
                    sum += global::System.MathF.Exp({{output("o")}} - max);
                }

                float logSum = max + global::System.MathF.Log(sum);
                int label = labels[sample];
                losses[sample] = logSum - {{output("label")}};
                for (int o = 0; o < {{units}}; o++)
                {
                    int at = {{at}};
                    float yo = {{output("o")}};
                    float delta = (global::System.MathF.Exp(yo - logSum) - (o == label ? 1f : 0f)) * {{scale}}{{timesDerivative}};
                {{store}}
                }
                """;
        }

        return $$"""
            float sum = 0f;
            for (int o = 0; o < {{units}}; o++)
            {
                int at = {{at}};
                float yo = {{output("o")}};
                float error = yo - targets[at];
                sum += error * error;
                float delta = 2f * error * {{scale}}{{timesDerivative}};
            {{store}}
            }

            losses[sample] = sum / {{units}};
            """;
    }
}
