using FusedNets.Generated;

namespace FusedNets.Reference;

/// <summary>
/// Physics-informed training in double precision, one point at a time, written to be obviously right: the forward
/// propagation of u's derivatives with respect to the inputs through every layer, the terms' residuals, the loss, and
/// its gradient with respect to the parameters by the adjoint of that propagation (docs/pde.md). The oracle the engines
/// are tested against; itself tested against finite differences of <see cref="ReferenceNetwork"/>'s forward and of its own loss.
/// </summary>
/// <remarks>
/// Per point and layer, with z = W y_below + b and y = f(z) elementwise, the channels are the value, the first
/// derivatives ∂/∂x_i (i over every input) and the second derivatives ∂²/∂x_k² for the chosen inputs k, one by one or
/// summed into the Laplacian:
/// <code>
///   z_i = W y_below,i          y_i = f'(z) z_i
///   z_kk = W y_below,kk        y_kk = f''(z) z_k² + f'(z) z_kk       (Laplacian: y_Δ = f''(z) Σ_k z_k² + f'(z) z_Δ)
/// </code>
/// starting from the input's y = x, y_i = e_i, y_kk = 0. The engines compute the same in float, batched.
/// </remarks>
internal sealed class ReferencePde
{
    private readonly ReferenceNetwork _network;
    private readonly NetworkArchitecture _architecture;

    public ReferencePde(ReferenceNetwork network, PdeProgram program)
    {
        _network = network;
        _architecture = network.Architecture;
        Program = program;
        if (_architecture.Layers.Any(layer => layer is not DenseLayerArchitecture) || _architecture.OutputSize != 1)
        {
            throw new ArgumentException("A physics-informed network is a stack of dense layers with one output.", nameof(network));
        }
    }

    public PdeProgram Program { get; }

    private int Inputs => _architecture.InputSize;

    /// <summary>u and the derivatives <paramref name="term"/> reads, at <paramref name="x"/>.</summary>
    public (double Value, double[] First, double[] Second) Derivatives(PdeTerm term, ReadOnlySpan<float> x)
    {
        Channels[] values = Forward(term, x);
        Channels output = values[^1];
        return (output.Value[0], [.. output.First.Select(channel => channel[0])], [.. output.Second.Select(channel => channel[0])]);
    }

    /// <summary>The loss: Σ_t weight_t · mean over term t's points of r²; each term's mean into <paramref name="termLosses"/>.</summary>
    public double Loss(PdeBatch batch, Span<double> termLosses) => Run(batch, termLosses, gradient: null);

    /// <summary>The loss and its gradient with respect to the parameters (zero at masked weights).</summary>
    public (double Loss, double[] Gradient) Gradients(PdeBatch batch, Span<double> termLosses)
    {
        var gradient = new double[_architecture.ParameterCount];
        double loss = Run(batch, termLosses, gradient);
        for (int l = 0; l < _architecture.Layers.Length; l++)
        {
            if (_network.MaskOf(l) is { } mask)
            {
                // A masked weight is a constant zero, not a parameter.
                Span<double> weights = gradient.AsSpan(_architecture.WeightOffset(l), mask.Length);
                for (int i = 0; i < mask.Length; i++)
                {
                    weights[i] *= mask[i];
                }
            }
        }

        return (loss, gradient);
    }

    private double Run(PdeBatch batch, Span<double> termLosses, double[]? gradient)
    {
        double total = 0;
        for (int t = 0; t < batch.Terms.Length; t++)
        {
            PdeTerm term = batch.Terms[t];
            int count = batch.Count(t);
            double sum = 0;
            for (int s = 0; s < count; s++)
            {
                ReadOnlySpan<float> x = batch.Points(t).Slice(s * Inputs, Inputs);
                Channels[] values = Forward(term, x);
                (double r, Channels seeds) = Residual(t, term, x, values[^1]);
                sum += r * r;
                if (gradient is not null)
                {
                    // d(weight · mean of r²)/d(channel) = 2 weight r ∂r/∂channel / count
                    seeds.Scale(2 * batch.Weight(t) * r / count);
                    Backward(term, x, values, seeds, gradient);
                }
            }

            termLosses[t] = sum / count;
            total += batch.Weight(t) * termLosses[t];
        }

        return total;
    }

    /// <summary>r at the point and its derivatives with respect to u and to each derivative it read, as output-layer channels.</summary>
    private (double Residual, Channels Partials) Residual(int t, PdeTerm term, ReadOnlySpan<float> x, Channels output)
    {
        int first = output.First.Length, second = output.Second.Length;
        Tape<double> tape = Tape<double>.Current;
        tape.Begin(1 + first + second);
        var firstDerivatives = new Variable<double>[first];
        var secondDerivatives = new Variable<double>[second];
        for (int i = 0; i < first; i++)
        {
            firstDerivatives[i] = Tape<double>.Leaf(1 + i, output.First[i][0]);
        }

        for (int k = 0; k < second; k++)
        {
            secondDerivatives[k] = Tape<double>.Leaf(1 + first + k, output.Second[k][0]);
        }

        Variable<double> r = Program.Evaluate(t, x, Tape<double>.Leaf(0, output.Value[0]), firstDerivatives, secondDerivatives);
        var partials = new double[1 + first + second];
        tape.Gradient(r, partials);
        var seeds = Channels.For(term, Inputs, 1);
        seeds.Value[0] = partials[0];
        for (int i = 0; i < first; i++)
        {
            seeds.First[i][0] = partials[1 + i];
        }

        for (int k = 0; k < second; k++)
        {
            seeds.Second[k][0] = partials[1 + first + k];
        }

        return (r.Primal, seeds);
    }

    // ---- Forward: each layer's z and y channels. ----

    /// <summary>Every layer's channels at <paramref name="x"/>: [l] holds layer l's y, and its z in <see cref="Channels.PreActivation"/>.</summary>
    private Channels[] Forward(PdeTerm term, ReadOnlySpan<float> x)
    {
        Channels below = Channels.For(term, Inputs, Inputs);
        for (int i = 0; i < Inputs; i++)
        {
            below.Value[i] = x[i];
            if (below.First.Length > 0)
            {
                below.First[i][i] = 1;
            }
        }

        var layers = new Channels[_architecture.Layers.Length];
        for (int l = 0; l < layers.Length; l++)
        {
            LayerArchitecture layer = _architecture.Layers[l];
            ReadOnlySpan<double> w = Weights(l), b = Bias(l);
            Channels z = Channels.For(term, Inputs, layer.Units);
            MultiplyAdd(w, below.Value, b, z.Value);
            for (int c = 0; c < z.First.Length; c++)
            {
                MultiplyAdd(w, below.First[c], default, z.First[c]);
            }

            for (int c = 0; c < z.Second.Length; c++)
            {
                MultiplyAdd(w, below.Second[c], default, z.Second[c]);
            }

            layers[l] = Activate(term, Activations.Rule(layer.Activation), z);
            below = layers[l];
        }

        return layers;
    }

    private Channels Activate(PdeTerm term, ActivationRule f, Channels z)
    {
        Channels y = Channels.For(term, Inputs, z.Value.Length);
        y.PreActivation = z;
        for (int o = 0; o < z.Value.Length; o++)
        {
            double value = f.Reference(z.Value[o]);
            double d1 = f.ReferenceDerivative(z.Value[o], value), d2 = f.ReferenceSecondDerivative(z.Value[o], value);
            y.Value[o] = value;
            for (int i = 0; i < z.First.Length; i++)
            {
                y.First[i][o] = d1 * z.First[i][o];
            }

            if (term.Derivatives == PdeDerivatives.Laplacian)
            {
                double squares = term.SecondDerivativeInputs.Sum(i => z.First[i][o] * z.First[i][o]);
                y.Second[0][o] = d2 * squares + d1 * z.Second[0][o];
            }
            else if (term.Derivatives == PdeDerivatives.SecondDerivatives)
            {
                for (int k = 0; k < y.Second.Length; k++)
                {
                    double zk = z.First[term.SecondDerivativeInputs[k]][o];
                    y.Second[k][o] = d2 * zk * zk + d1 * z.Second[k][o];
                }
            }
        }

        return y;
    }

    // ---- Backward: the adjoint of the forward, from the output channels' seeds to the parameters. ----

    private void Backward(PdeTerm term, ReadOnlySpan<float> x, Channels[] values, Channels outputSeeds, double[] gradient)
    {
        Channels dy = outputSeeds;
        for (int l = values.Length - 1; l >= 0; l--)
        {
            LayerArchitecture layer = _architecture.Layers[l];
            Channels dz = ActivateBackward(term, Activations.Rule(layer.Activation), values[l], dy);

            // z_c = W y_below,c (+ b for the value channel): dW += dz_c y_below,cᵀ, db += dz_value, dy_below,c = Wᵀ dz_c.
            Channels below = l > 0 ? values[l - 1] : InputChannels(term, x);
            Span<double> dw = gradient.AsSpan(_architecture.ParameterOffset(l), layer.Units * layer.Inputs);
            Span<double> db = gradient.AsSpan(_architecture.BiasOffset(l), layer.Units);
            ReadOnlySpan<double> w = Weights(l);
            Channels dBelow = Channels.For(term, Inputs, layer.Inputs);
            foreach ((double[] dzc, double[] yc, double[] dyc) in dz.All.Zip(below.All, dBelow.All))
            {
                for (int o = 0; o < layer.Units; o++)
                {
                    for (int i = 0; i < layer.Inputs; i++)
                    {
                        dw[o * layer.Inputs + i] += dzc[o] * yc[i];
                        dyc[i] += w[o * layer.Inputs + i] * dzc[o];
                    }
                }
            }

            for (int o = 0; o < layer.Units; o++)
            {
                db[o] += dz.Value[o];
            }

            dy = dBelow;
        }
    }

    // Forward, per unit:  y = f(z),  y_i = f'(z) z_i,  y_Δ = f''(z) Σ_k z_k² + f'(z) z_Δ  (or y_kk = f''(z) z_k² + f'(z) z_kk).
    // Backward, given dy:  dz_Δ = f' dy_Δ,  dz_i = f' dy_i + [i in S] 2 f'' z_i dy_Δ,
    //                      dz = f' dy + f'' Σ_i z_i dy_i + (f''' Σ_k z_k² + f'' z_Δ) dy_Δ.
    private static Channels ActivateBackward(PdeTerm term, ActivationRule f, Channels y, Channels dy)
    {
        Channels z = y.PreActivation!;
        Channels dz = Channels.For(term, z.First.Length, z.Value.Length);
        for (int o = 0; o < z.Value.Length; o++)
        {
            double value = y.Value[o];
            double d1 = f.ReferenceDerivative(z.Value[o], value), d2 = f.ReferenceSecondDerivative(z.Value[o], value), d3 = f.ReferenceThirdDerivative(z.Value[o], value);
            double dValue = d1 * dy.Value[o];
            for (int i = 0; i < z.First.Length; i++)
            {
                dz.First[i][o] = d1 * dy.First[i][o];
                dValue += d2 * z.First[i][o] * dy.First[i][o];
            }

            for (int k = 0; k < z.Second.Length; k++)
            {
                dz.Second[k][o] = d1 * dy.Second[k][o];
                IEnumerable<int> inputs = term.Derivatives == PdeDerivatives.Laplacian ? term.SecondDerivativeInputs : [term.SecondDerivativeInputs[k]];
                foreach (int i in inputs)
                {
                    double zi = z.First[i][o];
                    dz.First[i][o] += 2 * d2 * zi * dy.Second[k][o];
                    dValue += d3 * zi * zi * dy.Second[k][o];
                }

                dValue += d2 * z.Second[k][o] * dy.Second[k][o];
            }

            dz.Value[o] = dValue;
        }

        return dz;
    }

    private Channels InputChannels(PdeTerm term, ReadOnlySpan<float> x)
    {
        Channels input = Channels.For(term, Inputs, Inputs);
        for (int i = 0; i < Inputs; i++)
        {
            input.Value[i] = x[i];
            if (input.First.Length > 0)
            {
                input.First[i][i] = 1;
            }
        }

        return input;
    }

    private ReadOnlySpan<double> Weights(int l) =>
        _network.Parameters.AsSpan(_architecture.WeightOffset(l), _architecture.Layers[l].WeightCount);

    private ReadOnlySpan<double> Bias(int l) =>
        _network.Parameters.AsSpan(_architecture.BiasOffset(l), _architecture.Layers[l].Units);

    // y = W x (+ b when given), W row-major (units, inputs).
    private static void MultiplyAdd(ReadOnlySpan<double> w, double[] x, ReadOnlySpan<double> b, double[] y)
    {
        for (int o = 0; o < y.Length; o++)
        {
            double sum = b.IsEmpty ? 0 : b[o];
            for (int i = 0; i < x.Length; i++)
            {
                sum += w[o * x.Length + i] * x[i];
            }

            y[o] = sum;
        }
    }

    /// <summary>One layer's values at one point: the value channel, the first-derivative channels, the second-derivative channels.</summary>
    private sealed class Channels
    {
        private Channels(double[] value, double[][] first, double[][] second)
        {
            Value = value;
            First = first;
            Second = second;
        }

        public double[] Value { get; }

        /// <summary>[i]: ∂/∂x_i, for a term that reads du; else none.</summary>
        public double[][] First { get; }

        /// <summary>[k]: the k-th second derivative, or [0] the Laplacian; none for a term without.</summary>
        public double[][] Second { get; }

        /// <summary>For a layer's y: its z.</summary>
        public Channels? PreActivation { get; set; }

        public IEnumerable<double[]> All => [Value, .. First, .. Second];

        public static Channels For(PdeTerm term, int inputs, int width) => new(
            new double[width],
            [.. Enumerable.Range(0, term.ReadsFirstDerivatives ? inputs : 0).Select(_ => new double[width])],
            [.. Enumerable.Range(0, term.SecondDerivativeCount).Select(_ => new double[width])]);

        public void Scale(double factor)
        {
            foreach (double[] channel in All)
            {
                for (int i = 0; i < channel.Length; i++)
                {
                    channel[i] *= factor;
                }
            }
        }
    }
}
