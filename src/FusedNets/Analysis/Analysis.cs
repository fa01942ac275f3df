namespace FusedNets;

/// <summary>
/// Exact and bounding analyses of a network's function as its parameters stand, in double precision on the
/// reference's layer maps: how many linear pieces a piecewise-linear network has along a segment, and an upper bound
/// on its Lipschitz constant.
/// </summary>
public static class Analysis
{
    // Power iteration gains (σ₂/σ₁)² per step; a layer whose top two singular values are this close has its norm
    // estimated from below by the iterations' last, which the documentation of LipschitzUpperBound owns up to.
    private const int MaxIterations = 20_000;

    /// <summary>
    /// The number of linear regions of the network's input space that the segment from <paramref name="from"/> to
    /// <paramref name="to"/> passes through: the maximal pieces of the segment on which every ReLU (or leaky ReLU) unit
    /// keeps its sign and every max-pooling window keeps its choice. On each piece the network is one affine map.
    /// </summary>
    /// <remarks>
    /// The count is exact up to double rounding: layer by layer, the segment's breakpoints so far cut it into pieces on
    /// which the layer's input is affine, so its pre-activations are too (dense, convolution and average pooling are
    /// linear), and each unit's sign change (each window's change of maximum) within a piece is found by solving a linear
    /// equation and becomes a new breakpoint (the method of Sotoudeh and Thakur's SyReNN, 2021). Two neighbouring pieces
    /// count as two even where they happen to compute the same affine map, such as around a unit whose outgoing weights
    /// are all zero.
    /// </remarks>
    /// <param name="network">A piecewise-linear network: activations Identity, Relu or LeakyRelu only.</param>
    /// <param name="from">The segment's start: InputSize floats.</param>
    /// <param name="to">The segment's end: InputSize floats.</param>
    /// <exception cref="ArgumentException">A layer's activation is not piecewise linear, or an endpoint has the wrong length or a value that is not finite.</exception>
    public static int LinearRegions(Network network, ReadOnlySpan<float> from, ReadOnlySpan<float> to)
    {
        ArgumentNullException.ThrowIfNull(network);
        NetworkArchitecture architecture = network.Architecture;
        CheckPoint(architecture, from, nameof(from));
        CheckPoint(architecture, to, nameof(to));
        foreach (LayerArchitecture layer in architecture.Layers)
        {
            if (layer.Activation is not (Activation.Identity or Activation.Relu or Activation.LeakyRelu))
            {
                throw new ArgumentException(
                    $"Counting linear regions needs a piecewise-linear network, but layer '{layer.Name}' of {architecture.Name} has activation {layer.Activation}: "
                    + "only Identity, Relu and LeakyRelu are piecewise linear.",
                    nameof(network));
            }

            if (layer is not (DenseLayerArchitecture or Conv2DLayerArchitecture or AvgPool2DLayerArchitecture or MaxPool2DLayerArchitecture))
            {
                throw new ArgumentException($"Counting linear regions does not know {layer.Kind} layers ('{layer.Name}').", nameof(network));
            }
        }

        double[] parameters = Array.ConvertAll(network.ReadModel().Parameters, value => (double)value);
        var segment = new Segment(architecture.InputSize, [.. from], [.. to]);
        for (int l = 0; l < architecture.Layers.Length; l++)
        {
            LayerArchitecture layer = architecture.Layers[l];
            ReadOnlySpan<double> layerParameters = parameters.AsSpan(architecture.ParameterOffset(l), layer.ParameterCount);
            if (layer is MaxPool2DLayerArchitecture pool)
            {
                // Its input is affine on each piece; its output is not until each window's maximum is one candidate.
                segment.Split(piece => MaxChanges(pool, segment, piece));
            }

            double[] z = new double[segment.Points * layer.Units];
            layer.ReferenceForward(layerParameters, segment.Values, z, segment.Points);
            segment = segment.WithValues(z, layer.Units);
            if (layer.Activation != Activation.Identity)
            {
                segment.Split(piece => SignChanges(segment, piece));
                ActivationRule rule = Activations.Rule(layer.Activation);
                double[] values = segment.Values;
                for (int i = 0; i < values.Length; i++)
                {
                    values[i] = rule.Reference(values[i]);
                }
            }
        }

        return segment.Points - 1;
    }

    /// <summary>
    /// An upper bound on the network's Lipschitz constant in the L2 norm, from its input to its outputs (the last layer's
    /// activations, logits for a classifier): the product over layers of each layer's linear map's spectral norm and its
    /// activation's largest slope. Masked and pruned weights count as the zeros they are.
    /// </summary>
    /// <remarks>
    /// Each spectral norm comes from power iteration on AᵀA, A the layer's map without its bias (a convolution or average
    /// pooling as the linear operator it is, through the reference's forward and backward), from a fixed start and run in
    /// double precision until the estimate moves by less than one part in 10¹² (at most 20,000 steps). The estimates rise
    /// to each norm from below, so the bound holds to that precision once they have converged, which takes longer the
    /// closer a layer's two largest singular values are.
    /// Max pooling over windows that do not overlap (stride = size, as here) is 1-Lipschitz. Slopes: 1 for Identity,
    /// ReLU, leaky ReLU, tanh and softplus; 1/4 for the sigmoid; 1.129 for GELU (its tanh form's derivative peaks at
    /// 1.12899 near z = 1.4185).
    /// </remarks>
    public static double LipschitzUpperBound(Network network)
    {
        ArgumentNullException.ThrowIfNull(network);
        NetworkArchitecture architecture = network.Architecture;
        double[] parameters = Array.ConvertAll(network.ReadModel().Parameters, value => (double)value);
        double bound = 1;
        for (int l = 0; l < architecture.Layers.Length; l++)
        {
            LayerArchitecture layer = architecture.Layers[l];
            double norm = layer is MaxPool2DLayerArchitecture
                ? 1
                : SpectralNorm(layer, parameters.AsSpan(architecture.ParameterOffset(l), layer.ParameterCount));
            bound *= norm * SlopeBound(layer.Activation);
        }

        return bound;
    }

    /// <summary>The largest |f'(z)| over all z of <paramref name="activation"/>.</summary>
    internal static double SlopeBound(Activation activation) => activation switch
    {
        Activation.Identity or Activation.Relu or Activation.LeakyRelu or Activation.Tanh or Activation.Softplus => 1,
        Activation.Sigmoid => 0.25,
        Activation.Gelu => 1.129,
        _ => throw new NotSupportedException($"No slope bound is known for activation {activation}."),
    };

    /// <summary>
    /// ‖A‖₂ of the layer's linear map (bias left out) by power iteration on AᵀA: Aᵀ is the reference's backward, which
    /// maps dz to dx = Aᵀ dz for any layer that is linear in its input.
    /// </summary>
    private static double SpectralNorm(LayerArchitecture layer, ReadOnlySpan<double> parameters)
    {
        double[] weights = parameters.ToArray();
        if (layer.Weight is not null)
        {
            Array.Clear(weights, layer.WeightCount, weights.Length - layer.WeightCount);
        }

        var random = new Random(1);
        double[] v = [.. Enumerable.Range(0, layer.Inputs).Select(_ => random.NextDouble() * 2 - 1)];
        double[] z = new double[layer.Units], dx = new double[layer.Inputs], unused = new double[weights.Length];
        double estimate = 0;
        Normalize(v);
        for (int iteration = 0; iteration < MaxIterations; iteration++)
        {
            layer.ReferenceForward(weights, v, z, 1);
            layer.ReferenceBackward(weights, v, z, z, unused, dx, 1);
            double next = Math.Sqrt(Norm(dx));
            if (next == 0)
            {
                return 0;
            }

            Array.Copy(dx, v, v.Length);
            Normalize(v);
            if (Math.Abs(next - estimate) <= 1e-12 * next)
            {
                return next;
            }

            estimate = next;
        }

        return estimate;
    }

    private static double Norm(double[] values) => Math.Sqrt(values.Sum(value => value * value));

    private static void Normalize(double[] values)
    {
        double norm = Norm(values);
        for (int i = 0; i < values.Length; i++)
        {
            values[i] /= norm;
        }
    }

    private static void CheckPoint(NetworkArchitecture architecture, ReadOnlySpan<float> point, string parameter)
    {
        if (point.Length != architecture.InputSize)
        {
            throw new ArgumentException($"{architecture.Name} takes {architecture.InputSize} inputs; the point has {point.Length}.", parameter);
        }

        Network.CheckFinite(point, parameter, "coordinate");
    }

    /// <summary>Where within piece <paramref name="piece"/> (as fractions of it) some value changes sign strictly.</summary>
    private static IEnumerable<double> SignChanges(Segment segment, int piece)
    {
        ReadOnlySpan<double> start = segment.ValuesAt(piece), end = segment.ValuesAt(piece + 1);
        var breaks = new List<double>();
        for (int i = 0; i < start.Length; i++)
        {
            if ((start[i] < 0 && end[i] > 0) || (start[i] > 0 && end[i] < 0))
            {
                breaks.Add(start[i] / (start[i] - end[i]));
            }
        }

        return breaks;
    }

    /// <summary>
    /// Where within piece <paramref name="piece"/> some window of <paramref name="pool"/> changes its maximum: along the
    /// piece each candidate is a line, and the maximum follows their upper envelope from the largest at the start,
    /// switching at each crossing to the steeper line.
    /// </summary>
    private static IEnumerable<double> MaxChanges(MaxPool2DLayerArchitecture pool, Segment segment, int piece)
    {
        ReadOnlySpan<double> start = segment.ValuesAt(piece), end = segment.ValuesAt(piece + 1);
        var breaks = new List<double>();
        foreach (int[] window in pool.Windows())
        {
            // The winner at the start of the piece: the largest value, then the steeper line, then the first, as the reference picks.
            int winner = window[0];
            foreach (int candidate in window)
            {
                double value = start[candidate], best = start[winner];
                if (value > best || (value == best && end[candidate] - start[candidate] > end[winner] - start[winner]))
                {
                    winner = candidate;
                }
            }

            double at = 0;
            while (true)
            {
                double slope = end[winner] - start[winner], next = 1;
                int overtaker = -1;
                foreach (int candidate in window)
                {
                    double candidateSlope = end[candidate] - start[candidate];
                    if (candidateSlope <= slope)
                    {
                        continue;
                    }

                    double crossing = (start[winner] - start[candidate]) / (candidateSlope - slope);
                    if (crossing > at && (crossing < next || (overtaker >= 0 && crossing == next && candidateSlope > end[overtaker] - start[overtaker])))
                    {
                        next = crossing;
                        overtaker = candidate;
                    }
                }

                if (overtaker < 0 || next >= 1)
                {
                    break;
                }

                breaks.Add(next);
                winner = overtaker;
                at = next;
            }
        }

        return breaks;
    }

    /// <summary>
    /// Points along the segment, t from 0 to 1, with one layer's values at each (points × width, point after point); between
    /// two neighbouring points every value is affine in t, so a value in between is the interpolation of its ends.
    /// </summary>
    private sealed class Segment(int width, double[] first, double[] last)
    {
        private List<double> _positions = [0, 1];

        public int Width { get; private set; } = width;

        public double[] Values { get; private set; } = [.. first, .. last];

        public int Points => _positions.Count;

        public ReadOnlySpan<double> ValuesAt(int point) => Values.AsSpan(point * Width, Width);

        /// <summary>The same points with another layer's values.</summary>
        public Segment WithValues(double[] values, int width)
        {
            Values = values;
            Width = width;
            return this;
        }

        /// <summary>Adds the points <paramref name="breaks"/> gives within each piece (fractions of it, in (0, 1)), values interpolated.</summary>
        public void Split(Func<int, IEnumerable<double>> breaks)
        {
            var positions = new List<double>(_positions.Count);
            var values = new List<double>(Values.Length);
            for (int piece = 0; piece < _positions.Count - 1; piece++)
            {
                positions.Add(_positions[piece]);
                values.AddRange(ValuesAt(piece));
                double startT = _positions[piece], endT = _positions[piece + 1];
                double previous = 0;
                foreach (double fraction in breaks(piece).Where(fraction => fraction is > 0 and < 1).Order())
                {
                    if (fraction == previous)
                    {
                        continue;
                    }

                    previous = fraction;
                    positions.Add(startT + (endT - startT) * fraction);
                    ReadOnlySpan<double> start = ValuesAt(piece), end = ValuesAt(piece + 1);
                    for (int i = 0; i < Width; i++)
                    {
                        values.Add(start[i] + (end[i] - start[i]) * fraction);
                    }
                }
            }

            positions.Add(_positions[^1]);
            values.AddRange(ValuesAt(_positions.Count - 1));
            _positions = positions;
            Values = [.. values];
        }
    }
}
