namespace FusedNets;

/// <summary>
/// Seeded parameter initialization: He uniform for the ReLU family, Glorot uniform otherwise, biases zero.
/// The fan-in of a masked layer is the number of weights each output actually keeps (on average), so a
/// sparse layer starts with the same activation scale as a dense one.
/// </summary>
internal static class Initialization
{
    public static void Initialize(NetworkArchitecture architecture, IReadOnlyList<float[]?> masks, int seed, Span<float> parameters)
    {
        var random = new Random(seed);
        for (int l = 0; l < architecture.Layers.Length; l++)
        {
            DenseLayerArchitecture layer = architecture.Layers[l];
            float[]? mask = masks[l];
            double keptPerOutput = mask is null ? layer.Inputs : Math.Max(1.0, mask.Sum() / layer.Units);
            double keptPerInput = mask is null ? layer.Units : Math.Max(1.0, mask.Sum() / layer.Inputs);
            double limit = Activations.IsReluFamily(layer.Activation)
                ? Math.Sqrt(6.0 / keptPerOutput)
                : Math.Sqrt(6.0 / (keptPerOutput + keptPerInput));

            Span<float> weights = parameters.Slice(architecture.WeightOffset(l), layer.WeightCount);
            for (int i = 0; i < weights.Length; i++)
            {
                float value = (float)((random.NextDouble() * 2 - 1) * limit);
                weights[i] = mask is null ? value : value * mask[i];
            }

            parameters.Slice(architecture.BiasOffset(l), layer.Units).Clear();
        }
    }
}
