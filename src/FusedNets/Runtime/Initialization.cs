namespace FusedNets;

/// <summary>
/// Seeded parameter initialization: weights He uniform for the ReLU family, Glorot uniform otherwise, with
/// PyTorch's fan-in and fan-out (a convolution's counting its kernel positions); biases zero. The fan of a masked
/// layer counts the weights actually kept (on average), so a sparse layer starts with the same activation scale as a
/// dense one. One generator draws every weight of every layer in the flat layout's order.
/// </summary>
internal static class Initialization
{
    public static void Initialize(NetworkArchitecture architecture, IReadOnlyList<float[]?> masks, int seed, Span<float> parameters)
    {
        var random = new Random(seed);
        for (int l = 0; l < architecture.Layers.Length; l++)
        {
            LayerArchitecture layer = architecture.Layers[l];
            int offset = architecture.ParameterOffset(l);
            foreach (ParameterTensor tensor in layer.Parameters)
            {
                Span<float> values = parameters.Slice(offset, tensor.Size);
                offset += tensor.Size;
                if (tensor.Role == ParameterRole.Bias)
                {
                    values.Clear();
                    continue;
                }

                float[]? mask = masks[l];
                (int fanIn, int fanOut) = layer.Fans;
                (int rows, int columns) = layer.WeightMatrix;
                double keptPerOutput = fanIn, keptPerInput = fanOut;
                if (mask is not null)
                {
                    // Kept weights per row and per column of the weight matrix, scaled to the fans (exactly 1 for a
                    // dense layer, whose fans are its columns and rows; a convolution's fan-out also counts its kernel).
                    float kept = mask.Sum();
                    keptPerOutput = Math.Max(1.0, kept / rows * ((double)fanIn / columns));
                    keptPerInput = Math.Max(1.0, kept / columns * ((double)fanOut / rows));
                }

                double limit = Activations.Rule(layer.Activation).ReluFamily
                    ? Math.Sqrt(6.0 / keptPerOutput)
                    : Math.Sqrt(6.0 / (keptPerOutput + keptPerInput));

                for (int i = 0; i < values.Length; i++)
                {
                    float value = (float)((random.NextDouble() * 2 - 1) * limit);
                    values[i] = mask is null ? value : value * mask[i];
                }
            }
        }
    }
}
