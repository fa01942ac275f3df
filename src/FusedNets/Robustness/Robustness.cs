using FusedNets.Data;

namespace FusedNets;

/// <summary>
/// How a classifier stands up to perturbations of its inputs within an L∞ distance ε: the accuracy interval bounds
/// certify (<see cref="CertifiedAccuracy"/>), and the attacks that find perturbations empirically, FGSM (Goodfellow et
/// al. 2015) and PGD (Madry et al. 2018). docs/research.md describes what each computes and guarantees.
/// </summary>
public static class Robustness
{
    /// <summary>Samples per engine call: the workspaces stay small whatever the data set's size.</summary>
    private const int Chunk = 256;

    /// <summary>
    /// The fraction of <paramref name="data"/>'s samples whose label provably wins for every input within L∞ distance
    /// <paramref name="epsilon"/> of theirs (within [<paramref name="clipMin"/>, <paramref name="clipMax"/>] too, the range
    /// the data may take): for every other class k, an upper bound on y_k − y_label over that box is below zero.
    /// </summary>
    /// <remarks>
    /// The bounds come from interval bound propagation (<see cref="Network.IntervalBounds"/>), and are bounds on logit
    /// differences, tighter than comparing the outputs' own bounds: where the last layer is dense with the identity, it
    /// is elided (Gowal et al. 2018): y_k − y_label = (W_k − W_label) h + b_k − b_label is bounded directly over the
    /// bounds of its input h. The certificate is sound in float: it allows for the rounding of the forward pass that
    /// <see cref="Network.Predict(ReadOnlySpan{float}, Span{float})"/> runs, on any backend, and a tie counts as a loss.
    /// Elsewhere the label's lower bound must beat every other output's upper bound.
    /// </remarks>
    public static float CertifiedAccuracy(Network network, Dataset data, float epsilon, float clipMin = float.NegativeInfinity, float clipMax = float.PositiveInfinity)
    {
        ArgumentNullException.ThrowIfNull(network);
        network.CheckClassificationData(data, nameof(data));
        CheckEpsilon(epsilon);
        Network.CheckWithinClipRange(data.Features, clipMin, clipMax, nameof(data));

        NetworkArchitecture architecture = network.Architecture;
        bool elide = IntervalLoss.Elides(architecture);
        int layers = elide ? architecture.Layers.Length - 1 : architecture.Layers.Length;
        int width = layers == 0 ? architecture.InputSize : architecture.Layers[layers - 1].Units;
        var last = new LastLayer(network, elide);
        int inputSize = architecture.InputSize, certified = 0;
        var lower = new float[Chunk * inputSize];
        var upper = new float[Chunk * inputSize];
        var boundsLower = new float[Chunk * width];
        var boundsUpper = new float[Chunk * width];
        for (int first = 0; first < data.Count; first += Chunk)
        {
            int count = Math.Min(Chunk, data.Count - first);
            Span<float> lo = lower.AsSpan(0, count * inputSize), hi = upper.AsSpan(0, count * inputSize);
            IntervalBoxes.Around(data.Features.Slice(first * inputSize, count * inputSize), epsilon, clipMin, clipMax, lo, hi);
            network.LayerBounds(lo, hi, layers, boundsLower.AsSpan(0, count * width), boundsUpper.AsSpan(0, count * width));
            for (int s = 0; s < count; s++)
            {
                ReadOnlySpan<float> sampleLower = boundsLower.AsSpan(s * width, width), sampleUpper = boundsUpper.AsSpan(s * width, width);
                int label = data.Labels[first + s];
                if (elide ? last.LabelProvablyWins(sampleLower, sampleUpper, label) : OutputsProvablyWin(sampleLower, sampleUpper, label))
                {
                    certified++;
                }
            }
        }

        return (float)certified / data.Count;
    }

    /// <summary>
    /// The fast gradient sign method (Goodfellow et al. 2015): x + ε · sign(∇ₓ L(x, label)) for each of the n inputs
    /// (n × InputSize), L the network's loss, clipped to [<paramref name="clipMin"/>, <paramref name="clipMax"/>].
    /// </summary>
    /// <remarks>
    /// Every value of <paramref name="adversarial"/> lies within ε of its input, in exact arithmetic, and within the clip
    /// range (the inputs must lie in it). A zero gradient leaves its value as it was.
    /// </remarks>
    public static void Fgsm(Network network, ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, float epsilon, Span<float> adversarial, float clipMin = float.NegativeInfinity, float clipMax = float.PositiveInfinity)
    {
        int count = CheckAttack(network, inputs, labels, epsilon, adversarial, clipMin, clipMax);
        inputs.CopyTo(adversarial);
        var gradient = new float[Math.Min(Chunk, count) * network.Architecture.InputSize];
        for (int first = 0; first < count; first += Chunk)
        {
            Step(network, inputs, labels, adversarial, gradient, first, Math.Min(Chunk, count - first), epsilon, epsilon, clipMin, clipMax);
        }
    }

    /// <summary>
    /// Projected gradient descent on the loss (Madry et al. 2018), L∞: from a uniformly random point of the ε-ball around
    /// each input, <paramref name="steps"/> steps x ← Π(x + <paramref name="stepSize"/> · sign(∇ₓ L(x, label))), where Π
    /// projects onto the ε-ball around the input intersected with [<paramref name="clipMin"/>, <paramref name="clipMax"/>],
    /// after every step. The random start is drawn from <paramref name="seed"/>: the same call gives the same examples.
    /// </summary>
    /// <remarks>Every value of <paramref name="adversarial"/> lies within ε of its input, in exact arithmetic, and within the clip range (the inputs must lie in it).</remarks>
    public static void Pgd(
        Network network,
        ReadOnlySpan<float> inputs,
        ReadOnlySpan<int> labels,
        float epsilon,
        int steps,
        float stepSize,
        Span<float> adversarial,
        int seed = 0,
        float clipMin = float.NegativeInfinity,
        float clipMax = float.PositiveInfinity)
    {
        int count = CheckAttack(network, inputs, labels, epsilon, adversarial, clipMin, clipMax);
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        if (!float.IsFinite(stepSize) || stepSize < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(stepSize), stepSize, "The step size must be a finite number of at least 0.");
        }

        var random = new Random(seed);
        for (int i = 0; i < inputs.Length; i++)
        {
            (float lo, float hi) = Ball(inputs[i], epsilon, clipMin, clipMax);
            adversarial[i] = Math.Clamp(inputs[i] + (float)((random.NextDouble() * 2 - 1) * epsilon), lo, hi);
        }

        var gradient = new float[Math.Min(Chunk, count) * network.Architecture.InputSize];
        for (int first = 0; first < count; first += Chunk)
        {
            for (int step = 0; step < steps; step++)
            {
                Step(network, inputs, labels, adversarial, gradient, first, Math.Min(Chunk, count - first), stepSize, epsilon, clipMin, clipMax);
            }
        }
    }

    /// <summary>x ← Π(x + size · sign(∇ₓ L)) for samples [first, first + count) of the adversarial examples.</summary>
    private static void Step(Network network, ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, Span<float> adversarial, float[] gradient, int first, int count, float size, float epsilon, float clipMin, float clipMax)
    {
        int inputSize = network.Architecture.InputSize, start = first * inputSize, length = count * inputSize;
        Span<float> examples = adversarial.Slice(start, length), g = gradient.AsSpan(0, length);
        network.InputGradientCore(examples, labels.Slice(first, count), default, g);
        for (int i = 0; i < length; i++)
        {
            (float lo, float hi) = Ball(inputs[start + i], epsilon, clipMin, clipMax);
            examples[i] = Math.Clamp(examples[i] + size * MathF.Sign(g[i]), lo, hi);
        }
    }

    /// <summary>The floats within ε of <paramref name="x"/> in exact arithmetic, clipped: x ∓ ε rounded inward.</summary>
    private static (float Lo, float Hi) Ball(float x, float epsilon, float clipMin, float clipMax)
    {
        float lo = x - epsilon, hi = x + epsilon;
        if ((double)lo < (double)x - epsilon)
        {
            lo = MathF.BitIncrement(lo);
        }

        if ((double)hi > (double)x + epsilon)
        {
            hi = MathF.BitDecrement(hi);
        }

        return (MathF.Max(lo, clipMin), MathF.Min(hi, clipMax));
    }

    private static int CheckAttack(Network network, ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, float epsilon, Span<float> adversarial, float clipMin, float clipMax)
    {
        ArgumentNullException.ThrowIfNull(network);
        network.CheckLabels(inputs, labels);
        CheckEpsilon(epsilon);
        if (adversarial.Length != inputs.Length)
        {
            throw new ArgumentException($"Expected {inputs.Length} elements, one per input value, got {adversarial.Length}.", nameof(adversarial));
        }

        Network.CheckWithinClipRange(inputs, clipMin, clipMax, nameof(inputs));
        return labels.Length;
    }

    private static void CheckEpsilon(float epsilon)
    {
        if (!float.IsFinite(epsilon) || epsilon < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "Epsilon must be a finite number of at least 0.");
        }
    }

    /// <summary>Without elision: the label's lower bound beats every other output's upper bound.</summary>
    private static bool OutputsProvablyWin(ReadOnlySpan<float> lower, ReadOnlySpan<float> upper, int label)
    {
        for (int k = 0; k < lower.Length; k++)
        {
            if (k != label && !(lower[label] > upper[k]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The last (dense, identity) layer's parameters in double precision, for the elided certificate.</summary>
    private sealed class LastLayer
    {
        private readonly double[] _weights = [], _bias = [];
        private readonly int _inputs, _outputs;

        public LastLayer(Network network, bool elide)
        {
            if (!elide)
            {
                return;
            }

            NetworkArchitecture architecture = network.Architecture;
            var parameters = new float[architecture.ParameterCount];
            network.CopyParametersTo(parameters);
            LayerArchitecture last = architecture.Layers[^1];
            (_inputs, _outputs) = (last.Inputs, last.Units);
            int offset = architecture.ParameterOffset(architecture.Layers.Length - 1);
            _weights = [.. parameters.AsSpan(offset, last.WeightCount).ToArray().Select(w => (double)w)];
            _bias = [.. parameters.AsSpan(offset + last.WeightCount, _outputs).ToArray().Select(b => (double)b)];
        }

        /// <summary>
        /// For every k ≠ label: d_k = max over h in [lower, upper] of (W_k − W_label) h + b_k − b_label, computed in double, plus
        /// what the float forward can round (γ(n + 1) times |b| + Σ|W| max|h| for each of the two logits), is below zero.
        /// </summary>
        public bool LabelProvablyWins(ReadOnlySpan<float> lower, ReadOnlySpan<float> upper, int label)
        {
            int n = _inputs;
            double unit = IntervalRounding.Unit, gamma = (n + 1) * unit / (1 - (n + 1) * unit) + 1e-12;
            double labelScale = Scale(label, lower, upper);
            for (int k = 0; k < _outputs; k++)
            {
                if (k == label)
                {
                    continue;
                }

                double difference = _bias[k] - _bias[label];
                for (int i = 0; i < n; i++)
                {
                    double w = _weights[k * n + i] - _weights[label * n + i];
                    double center = 0.5 * lower[i] + 0.5 * upper[i], radius = 0.5 * upper[i] - 0.5 * lower[i];
                    difference += w * center + Math.Abs(w) * radius;
                }

                if (!(difference + gamma * (labelScale + Scale(k, lower, upper)) < 0))
                {
                    return false;
                }
            }

            return true;
        }

        // |b_k| + Σ_i |W_ki| max(|lower_i|, |upper_i|)
        private double Scale(int k, ReadOnlySpan<float> lower, ReadOnlySpan<float> upper)
        {
            double scale = Math.Abs(_bias[k]);
            for (int i = 0; i < _inputs; i++)
            {
                scale += Math.Abs(_weights[k * _inputs + i]) * Math.Max(Math.Abs(lower[i]), Math.Abs(upper[i]));
            }

            return scale;
        }
    }
}
