namespace FusedNets;

/// <summary>
/// How a network reaches an output: gradient attributions of one output to the inputs, computed by the engines'
/// backward pass seeded with that output (a vector-Jacobian product). docs/research.md describes both.
/// </summary>
public static class Interpretability
{
    /// <summary>Path points per engine call in <see cref="IntegratedGradients"/>.</summary>
    private const int PathChunk = 128;

    /// <summary>
    /// The saliency of one input (Simonyan et al. 2014): ∂y_target/∂x, the gradient of output <paramref name="target"/>
    /// (a logit, for a softmax classifier) with respect to each input value, signed. Simonyan et al.'s map is its
    /// magnitude, the largest over an image's channels.
    /// </summary>
    public static void Saliency(Network network, ReadOnlySpan<float> input, int target, Span<float> saliency)
    {
        CheckSample(network, input, target, saliency, nameof(saliency));
        var seed = new float[network.Architecture.OutputSize];
        seed[target] = 1;
        network.VectorJacobianProduct(input, seed, saliency);
    }

    /// <summary>
    /// Integrated gradients (Sundararajan et al. 2017): (x − x′) ⊙ ∫₀¹ ∂y_target/∂x (x′ + α (x − x′)) dα for the input x and
    /// the <paramref name="baseline"/> x′, the integral by the midpoint rule over <paramref name="steps"/> points of the
    /// path, whose gradients the engine computes in batches.
    /// </summary>
    /// <remarks>
    /// Completeness: the attributions sum to y_target(x) − y_target(x′) up to the quadrature's error, which falls as
    /// 1 / steps² where the gradient is smooth along the path (Sundararajan et al.'s right Riemann sum falls as 1 / steps).
    /// </remarks>
    public static void IntegratedGradients(Network network, ReadOnlySpan<float> input, ReadOnlySpan<float> baseline, int target, int steps, Span<float> attribution)
    {
        CheckSample(network, input, target, attribution, nameof(attribution));
        if (baseline.Length != input.Length)
        {
            throw new ArgumentException($"The baseline needs {input.Length} values, one per input value, got {baseline.Length}.", nameof(baseline));
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(steps);
        int inputSize = input.Length, outputSize = network.Architecture.OutputSize;
        int chunk = Math.Min(PathChunk, steps);
        var points = new float[chunk * inputSize];
        var seeds = new float[chunk * outputSize];
        var gradients = new float[chunk * inputSize];
        for (int p = 0; p < chunk; p++)
        {
            seeds[p * outputSize + target] = 1;
        }

        var sums = new double[inputSize];
        for (int first = 0; first < steps; first += chunk)
        {
            int count = Math.Min(chunk, steps - first);
            for (int p = 0; p < count; p++)
            {
                float alpha = (float)((first + p + 0.5) / steps);
                for (int i = 0; i < inputSize; i++)
                {
                    points[p * inputSize + i] = baseline[i] + alpha * (input[i] - baseline[i]);
                }
            }

            network.VectorJacobianProduct(points.AsSpan(0, count * inputSize), seeds.AsSpan(0, count * outputSize), gradients.AsSpan(0, count * inputSize));
            for (int p = 0; p < count; p++)
            {
                for (int i = 0; i < inputSize; i++)
                {
                    sums[i] += gradients[p * inputSize + i];
                }
            }
        }

        for (int i = 0; i < inputSize; i++)
        {
            attribution[i] = (float)((input[i] - baseline[i]) * sums[i] / steps);
        }
    }

    private static void CheckSample(Network network, ReadOnlySpan<float> input, int target, Span<float> result, string resultName)
    {
        ArgumentNullException.ThrowIfNull(network);
        int inputSize = network.Architecture.InputSize;
        if (input.Length != inputSize)
        {
            throw new ArgumentException($"{network.Architecture.Name} takes {inputSize} input values, got {input.Length}.", nameof(input));
        }

        if (result.Length != inputSize)
        {
            throw new ArgumentException($"Expected {inputSize} elements, one per input value, got {result.Length}.", resultName);
        }

        ArgumentOutOfRangeException.ThrowIfNegative(target);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(target, network.Architecture.OutputSize);
    }
}
