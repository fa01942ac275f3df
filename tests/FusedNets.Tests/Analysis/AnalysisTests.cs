using FusedNets.Tests.Reference;

namespace FusedNets.Tests.Analysis;

[Network(Loss = Loss.MeanSquaredError)]
public partial class RegionsMlp
{
    [Input(2)] public partial Layer X { get; }
    [Dense(5, Activation.Relu)] public partial Layer A { get; }
    [Dense(4, Activation.LeakyRelu)] public partial Layer B { get; }
    [Dense(3, Activation.Relu)] public partial Layer C { get; }
    [Dense(2)] public partial Layer Y { get; }
}

[Network(Loss = Loss.MeanSquaredError)]
public partial class RegionsDeep
{
    [Input(3)] public partial Layer X { get; }
    [Dense(4, Activation.Relu)] public partial Layer A { get; }
    [Dense(4, Activation.Relu)] public partial Layer B { get; }
    [Dense(4, Activation.Relu)] public partial Layer C { get; }
    [Dense(4, Activation.Relu)] public partial Layer D { get; }
    [Dense(1)] public partial Layer Y { get; }
}

/// <summary>A convolution whose windows max pooling then chooses among, and average pooling before any weights.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class RegionsConvNet
{
    [Input(2, 6, 6)] public partial Layer Image { get; }
    [AvgPool2D(2)] public partial Layer Average { get; }
    [Conv2D(3, 2, Activation.Relu, Padding = 1)] public partial Layer Conv { get; }
    [MaxPool2D(2)] public partial Layer Max { get; }
    [Dense(3, Activation.LeakyRelu)] public partial Layer Hidden { get; }
    [Dense(2)] public partial Layer Logits { get; }
}

[Network(Loss = Loss.MeanSquaredError)]
public partial class SmoothNet
{
    [Input(2)] public partial Layer X { get; }
    [Dense(3, Activation.Relu)] public partial Layer A { get; }
    [Dense(3, Activation.Tanh)] public partial Layer Smooth { get; }
    [Dense(1)] public partial Layer Y { get; }
}

[Network(Loss = Loss.MeanSquaredError)]
public partial class OneRelu
{
    [Input(1)] public partial Layer X { get; }
    [Dense(1, Activation.Relu)] public partial Layer Y { get; }
}

/// <summary>Every activation and every kind of layer, for the Lipschitz bound against sampled gradients.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class LipschitzNet
{
    [Input(1, 6, 6)] public partial Layer Image { get; }
    [Conv2D(3, 3, Activation.Gelu, Padding = 1)] public partial Layer Conv1 { get; }
    [MaxPool2D(2)] public partial Layer Max { get; }
    [Conv2D(4, 2, Activation.Softplus)] public partial Layer Conv2 { get; }
    [AvgPool2D(2)] public partial Layer Average { get; }
    [Dense(6, Activation.Tanh)] public partial Layer A { get; }
    [Dense(5, Activation.Sigmoid)] public partial Layer B { get; }
    [Dense(5, Activation.LeakyRelu, Density = 0.6, MaskSeed = 2)] public partial Layer C { get; }
    [Dense(3, Activation.Relu)] public partial Layer Logits { get; }
}

[Network(Loss = Loss.MeanSquaredError)]
public partial class DiagonalNet
{
    [Input(3)] public partial Layer X { get; }
    [Dense(3, Activation.Sigmoid)] public partial Layer A { get; }
    [Dense(3)] public partial Layer B { get; }
}

[Network(Loss = Loss.MeanSquaredError)]
public partial class PoolingNet
{
    [Input(1, 4, 4)] public partial Layer Image { get; }
    [AvgPool2D(2)] public partial Layer Average { get; }
    [Conv2D(1, 1)] public partial Layer Scale { get; }
    [MaxPool2D(2)] public partial Layer Max { get; }
    [Dense(1)] public partial Layer Y { get; }
}

/// <summary>
/// Linear regions along a segment, counted exactly by following breakpoints, match a brute-force scan of activation
/// patterns; the Lipschitz bound equals known norms and is never below a gradient norm found by sampling.
/// </summary>
public class AnalysisTests
{
    [Theory]
    [InlineData(nameof(RegionsMlp), 1)]
    [InlineData(nameof(RegionsMlp), 2)]
    [InlineData(nameof(RegionsDeep), 3)]
    [InlineData(nameof(RegionsDeep), 4)]
    [InlineData(nameof(RegionsConvNet), 5)]
    [InlineData(nameof(RegionsConvNet), 6)]
    public void Region_counts_match_a_brute_force_scan_of_activation_patterns(string name, int seed)
    {
        using Network network = name switch
        {
            nameof(RegionsMlp) => new RegionsMlp(seed, Backend.Cpu),
            nameof(RegionsDeep) => new RegionsDeep(seed, Backend.Cpu),
            _ => new RegionsConvNet(seed, Backend.Cpu),
        };
        network.SetParameters(TestArchitectures.RandomParameters(network.Architecture, seed));
        var random = new Random(seed);
        float[] from = [.. Enumerable.Range(0, network.Architecture.InputSize).Select(_ => random.NextSingle() * 6 - 3)];
        float[] to = [.. Enumerable.Range(0, network.Architecture.InputSize).Select(_ => random.NextSingle() * 6 - 3)];

        int regions = FusedNets.Analysis.LinearRegions(network, from, to);

        Assert.Equal(ScannedRegions(network, from, to, samples: 200_000), regions);
        Assert.True(regions > 3, $"Only {regions} regions: the case tests little.");
    }

    [Theory]
    [InlineData(-1f, 1f, 2)]
    [InlineData(1f, -1f, 2)]
    [InlineData(0.5f, 3f, 1)]
    [InlineData(-2f, -1f, 1)]
    [InlineData(0f, 1f, 1)]
    public void One_relu_has_two_pieces_exactly_when_the_segment_crosses_its_kink(float from, float to, int expected)
    {
        using var network = new OneRelu(seed: 0, Backend.Cpu);
        network.Y.Weights[0] = 2;
        network.Y.Bias[0] = 0;

        Assert.Equal(expected, FusedNets.Analysis.LinearRegions(network, [from], [to]));
    }

    [Fact]
    public void A_network_with_a_smooth_activation_is_refused_naming_the_layer()
    {
        using var network = new SmoothNet(seed: 0, Backend.Cpu);

        var error = Assert.Throws<ArgumentException>(() => FusedNets.Analysis.LinearRegions(network, [0, 0], [1, 1]));

        Assert.Contains("'Smooth'", error.Message, StringComparison.Ordinal);
        Assert.Contains("Tanh", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Endpoints_of_the_wrong_length_or_not_finite_are_refused()
    {
        using var network = new RegionsMlp(seed: 0, Backend.Cpu);

        Assert.Throws<ArgumentException>(() => FusedNets.Analysis.LinearRegions(network, [0, 0, 0], [1, 1]));
        Assert.Throws<ArgumentException>(() => FusedNets.Analysis.LinearRegions(network, [0, 0], [float.NaN, 1]));
    }

    [Fact]
    public void The_bound_of_diagonal_layers_is_the_product_of_their_largest_entries_and_slopes()
    {
        using var network = new DiagonalNet(seed: 0, Backend.Cpu);
        SetDiagonal(network.A, [3, -2, 0.5f]);
        SetDiagonal(network.B, [1, 4, -1]);

        // ‖A‖ = 3, the sigmoid's slope at most 1/4, ‖B‖ = 4.
        Assert.Equal(3 * 0.25 * 4, FusedNets.Analysis.LipschitzUpperBound(network), 1e-9);
    }

    [Fact]
    public void Average_pooling_scales_by_one_over_its_size_and_max_pooling_by_one()
    {
        using var network = new PoolingNet(seed: 0, Backend.Cpu);
        network.Scale.Weights[0] = -5;
        network.Y.Weights[0] = 2;

        Assert.Equal(0.5 * 5 * 1 * 2, FusedNets.Analysis.LipschitzUpperBound(network), 1e-9);
    }

    [Fact]
    public void Pruned_weights_count_as_zeros()
    {
        using var network = new DiagonalNet(seed: 0, Backend.Cpu);
        SetDiagonal(network.A, [3, -2, 0.5f]);
        network.B.Weights.Fill(1);
        Assert.Equal(3 * 0.25 * 3, FusedNets.Analysis.LipschitzUpperBound(network), 1e-9);

        // Equal magnitudes keep the lower indices: B's first two rows of ones, whose norm is √6.
        network.B.Prune(6f / 9);
        Assert.Equal(3 * 0.25 * Math.Sqrt(6), FusedNets.Analysis.LipschitzUpperBound(network), 1e-9);

        network.B.Prune(1f / 9);
        Assert.Equal(3 * 0.25 * 1, FusedNets.Analysis.LipschitzUpperBound(network), 1e-9);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void The_bound_is_never_below_a_sampled_jacobians_norm(int seed)
    {
        using var network = new LipschitzNet(seed, Backend.Cpu);
        network.SetParameters(TestArchitectures.RandomParameters(network.Architecture, seed));
        (float[] parameters, _) = network.ReadModel();
        double bound = FusedNets.Analysis.LipschitzUpperBound(network);
        var random = new Random(seed);

        double largest = 0;
        for (int sample = 0; sample < 300; sample++)
        {
            double[] x = [.. Enumerable.Range(0, network.Architecture.InputSize).Select(_ => random.NextDouble() * 4 - 2)];
            largest = Math.Max(largest, JacobianNorm(network.Architecture, parameters, x));
        }

        Assert.True(largest <= bound, $"A sampled Jacobian has norm {largest}, above the bound {bound}.");
        Assert.True(largest > 0);
    }

    [Fact]
    public void Every_activations_slope_stays_within_the_bound_the_product_takes()
    {
        foreach (Activation activation in Enum.GetValues<Activation>())
        {
            ActivationRule rule = Activations.Rule(activation);
            double bound = FusedNets.Analysis.SlopeBound(activation), steepest = 0;
            for (double z = -30; z <= 30; z += 1e-4)
            {
                steepest = Math.Max(steepest, Math.Abs(rule.ReferenceDerivative(z, rule.Reference(z))));
            }

            Assert.True(steepest <= bound, $"{activation}'s slope reaches {steepest}, above its bound {bound}.");
            Assert.True(steepest > 0.99 * bound, $"{activation}'s bound {bound} is loose: its slope reaches only {steepest}.");
        }
    }

    private static void SetDiagonal(Layer layer, float[] diagonal)
    {
        Span<float> weights = layer.Weights;
        weights.Clear();
        for (int i = 0; i < diagonal.Length; i++)
        {
            weights[i * diagonal.Length + i] = diagonal[i];
        }

        layer.Bias.Clear();
    }

    /// <summary>
    /// Regions by brute force: the activation pattern (each ReLU's sign, each max-pooling window's choice) at
    /// <paramref name="samples"/> + 1 evenly spaced points, counting the places where it changes.
    /// </summary>
    private static int ScannedRegions(Network network, float[] from, float[] to, int samples)
    {
        NetworkArchitecture architecture = network.Architecture;
        (float[] parameters, _) = network.ReadModel();
        int changes = 0;
        string? previous = null;
        const int Chunk = 5000;
        for (int first = 0; first <= samples; first += Chunk)
        {
            int count = Math.Min(Chunk, samples + 1 - first);
            var x = new double[count * architecture.InputSize];
            for (int k = 0; k < count; k++)
            {
                double t = (double)(first + k) / samples;
                for (int i = 0; i < from.Length; i++)
                {
                    x[k * from.Length + i] = from[i] + t * (to[i] - from[i]);
                }
            }

            foreach (string pattern in Patterns(architecture, parameters, x, count))
            {
                changes += previous is not null && pattern != previous ? 1 : 0;
                previous = pattern;
            }
        }

        return changes + 1;
    }

    private static string[] Patterns(NetworkArchitecture architecture, float[] parameters, double[] x, int count)
    {
        var patterns = new System.Text.StringBuilder[count];
        for (int k = 0; k < count; k++)
        {
            patterns[k] = new System.Text.StringBuilder();
        }

        for (int l = 0; l < architecture.Layers.Length; l++)
        {
            LayerArchitecture layer = architecture.Layers[l];
            if (layer is MaxPool2DLayerArchitecture pool)
            {
                IReadOnlyList<int[]> windows = pool.Windows();
                for (int k = 0; k < count; k++)
                {
                    foreach (int[] window in windows)
                    {
                        int best = window[0];
                        foreach (int at in window)
                        {
                            best = x[k * layer.Inputs + at] > x[k * layer.Inputs + best] ? at : best;
                        }

                        patterns[k].Append(best).Append(',');
                    }
                }
            }

            double[] z = new double[count * layer.Units];
            double[] layerParameters = Array.ConvertAll(parameters[architecture.ParameterOffset(l)..(architecture.ParameterOffset(l) + layer.ParameterCount)], value => (double)value);
            layer.ReferenceForward(layerParameters, x, z, count);
            for (int i = 0; i < z.Length; i++)
            {
                if (layer.Activation != Activation.Identity)
                {
                    patterns[i / layer.Units].Append(z[i] > 0 ? '+' : '-');
                }

                z[i] = Activations.Rule(layer.Activation).Reference(z[i]);
            }

            x = z;
        }

        return [.. patterns.Select(pattern => pattern.ToString())];
    }

    /// <summary>‖J(x)‖₂ of the network's outputs: J row by row by the reference's backward, then its largest singular value.</summary>
    private static double JacobianNorm(NetworkArchitecture architecture, float[] parameters, double[] input)
    {
        var xs = new double[architecture.Layers.Length][];
        var zs = new double[architecture.Layers.Length][];
        double[] x = input;
        for (int l = 0; l < architecture.Layers.Length; l++)
        {
            LayerArchitecture layer = architecture.Layers[l];
            xs[l] = x;
            zs[l] = new double[layer.Units];
            layer.ReferenceForward(LayerParameters(architecture, parameters, l), x, zs[l], 1);
            x = [.. zs[l].Select(Activations.Rule(layer.Activation).Reference)];
        }

        int outputs = architecture.OutputSize, inputs = architecture.InputSize;
        var jacobian = new double[outputs][];
        for (int o = 0; o < outputs; o++)
        {
            var dy = new double[outputs];
            dy[o] = 1;
            for (int l = architecture.Layers.Length - 1; l >= 0; l--)
            {
                LayerArchitecture layer = architecture.Layers[l];
                ActivationRule rule = Activations.Rule(layer.Activation);
                double[] dz = [.. dy.Select((gradient, i) => gradient * rule.ReferenceDerivative(zs[l][i], rule.Reference(zs[l][i])))];
                var dx = new double[layer.Inputs];
                layer.ReferenceBackward(LayerParameters(architecture, parameters, l), xs[l], zs[l], dz, new double[layer.ParameterCount], dx, 1);
                dy = dx;
            }

            jacobian[o] = dy;
        }

        // The largest eigenvalue of J Jᵀ (outputs × outputs) by power iteration, to convergence.
        var v = Enumerable.Repeat(1.0, outputs).ToArray();
        double norm = 0;
        for (int iteration = 0; iteration < 10_000; iteration++)
        {
            double[] next = [.. Enumerable.Range(0, outputs).Select(a => Enumerable.Range(0, outputs).Sum(b => Enumerable.Range(0, inputs).Sum(i => jacobian[a][i] * jacobian[b][i]) * v[b]))];
            double length = Math.Sqrt(next.Sum(value => value * value));
            if (length == 0)
            {
                return 0;
            }

            v = [.. next.Select(value => value / length)];
            if (Math.Abs(length - norm) <= 1e-14 * length)
            {
                break;
            }

            norm = length;
        }

        return Math.Sqrt(norm);
    }

    private static double[] LayerParameters(NetworkArchitecture architecture, float[] parameters, int l) =>
        Array.ConvertAll(parameters[architecture.ParameterOffset(l)..(architecture.ParameterOffset(l) + architecture.Layers[l].ParameterCount)], value => (double)value);
}
