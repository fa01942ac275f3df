namespace FusedNets.Reference;

/// <summary>
/// A network of a given <see cref="NetworkArchitecture"/> computed in double precision with plain loops:
/// forward, loss, backward and the SGD step. It is the oracle that every backend is tested against, and it is
/// tested itself against finite differences, so it is written to be obviously right rather than fast.
/// </summary>
/// <remarks>
/// Shapes in comments use B for the batch, In and Out for a layer's inputs and units. Every buffer is
/// row-major, one sample after another, like the spans the engines take.
/// </remarks>
public sealed class ReferenceNetwork
{
    private readonly NetworkArchitecture _architecture;
    private readonly float[]?[] _masks;

    /// <summary>Starts from a copy of <paramref name="parameters"/>, with masked weights set to zero, and zero momentum.</summary>
    /// <param name="architecture">The layers and the loss.</param>
    /// <param name="parameters">The flat parameter vector, laid out as <see cref="NetworkArchitecture"/> describes.</param>
    /// <param name="masks">For each dense layer, null, or its mask as 1s (kept) and 0s, row-major [units, inputs].</param>
    public ReferenceNetwork(NetworkArchitecture architecture, ReadOnlySpan<float> parameters, IReadOnlyList<float[]?> masks)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        ArgumentNullException.ThrowIfNull(masks);
        if (parameters.Length != architecture.ParameterCount)
        {
            throw new ArgumentException($"Expected {architecture.ParameterCount} parameters, got {parameters.Length}.", nameof(parameters));
        }

        if (masks.Count != architecture.Layers.Length)
        {
            throw new ArgumentException($"Expected one mask (or null) for each of the {architecture.Layers.Length} layers, got {masks.Count}.", nameof(masks));
        }

        _architecture = architecture;
        _masks = new float[]?[masks.Count];
        for (int l = 0; l < masks.Count; l++)
        {
            if (masks[l] is { } mask && mask.Length != architecture.Layers[l].WeightCount)
            {
                throw new ArgumentException($"The mask of layer '{architecture.Layers[l].Name}' has {mask.Length} entries, expected {architecture.Layers[l].WeightCount}.", nameof(masks));
            }

            _masks[l] = (float[]?)masks[l]?.Clone();
        }

        Parameters = new double[parameters.Length];
        for (int i = 0; i < parameters.Length; i++)
        {
            Parameters[i] = parameters[i];
        }

        for (int l = 0; l < _masks.Length; l++)
        {
            if (_masks[l] is { } mask)
            {
                Span<double> weights = Parameters.AsSpan(architecture.WeightOffset(l), mask.Length);
                for (int i = 0; i < mask.Length; i++)
                {
                    weights[i] *= mask[i];
                }
            }
        }

        Momentum = new double[parameters.Length];
    }

    public NetworkArchitecture Architecture => _architecture;

    /// <summary>The flat parameter vector (see <see cref="NetworkArchitecture"/>); tests may edit it in place.</summary>
    public double[] Parameters { get; }

    /// <summary>The SGD momentum buffers, laid out like <see cref="Parameters"/>; zero until the first step.</summary>
    public double[] Momentum { get; }

    /// <summary>The last layer's activations for <paramref name="batch"/> samples: (B, OutputSize).</summary>
    public double[] Forward(ReadOnlySpan<double> inputs, int batch)
    {
        CheckInputs(inputs, batch);
        return RunForward(inputs, batch)[^1].Y;
    }

    /// <summary>
    /// Each sample's loss: (B). Pass <paramref name="labels"/> for <see cref="Loss.SoftmaxCrossEntropy"/> and
    /// <paramref name="targets"/> (B, OutputSize) for <see cref="Loss.MeanSquaredError"/>; leave the other empty.
    /// </summary>
    public double[] SampleLosses(ReadOnlySpan<double> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<double> targets, int batch)
    {
        CheckBatch(inputs, labels, targets, batch);
        return LossForward(RunForward(inputs, batch)[^1].Y, labels, targets, batch);
    }

    /// <summary>The batch's mean loss and its gradients with respect to the parameters and the inputs.</summary>
    public ReferenceGradients Gradients(ReadOnlySpan<double> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<double> targets, int batch)
    {
        CheckBatch(inputs, labels, targets, batch);
        DenseActivations[] saved = RunForward(inputs, batch);
        double[] y = saved[^1].Y;
        double loss = LossForward(y, labels, targets, batch).Average();

        var dparameters = new double[_architecture.ParameterCount];
        double[] dy = LossBackward(y, labels, targets, batch);
        for (int l = saved.Length - 1; l >= 0; l--)
        {
            // The gradient of one layer's input is the gradient of the previous layer's output.
            dy = DenseBackward(l, saved[l], dy, batch, dparameters);
        }

        return new ReferenceGradients(loss, dparameters, dy);
    }

    /// <summary>
    /// One SGD step with PyTorch's rule, given the loss gradient. For weights g = gradient + weightDecay * w,
    /// for biases g = gradient; then v = momentum * v + g and w -= learningRate * (nesterov ? g + momentum * v : v).
    /// Masked weights and their momentum are left exactly as they are (zero), whatever the gradient says.
    /// </summary>
    public void Step(ReadOnlySpan<double> gradient, SgdStep sgd)
    {
        if (gradient.Length != _architecture.ParameterCount)
        {
            throw new ArgumentException($"Expected {_architecture.ParameterCount} gradient entries, got {gradient.Length}.", nameof(gradient));
        }

        for (int l = 0; l < _architecture.Layers.Length; l++)
        {
            DenseLayerArchitecture layer = _architecture.Layers[l];
            float[]? mask = _masks[l];
            int weights = _architecture.WeightOffset(l);
            for (int i = 0; i < layer.WeightCount; i++)
            {
                if (mask is not null && mask[i] == 0)
                {
                    continue;
                }

                int p = weights + i;
                Update(p, gradient[p] + sgd.WeightDecay * Parameters[p], sgd);
            }

            int biases = _architecture.BiasOffset(l);
            for (int o = 0; o < layer.Units; o++)
            {
                int p = biases + o;
                Update(p, gradient[p], sgd);
            }
        }
    }

    /// <summary><see cref="Gradients"/> then <see cref="Step"/>; returns the batch's mean loss before the step.</summary>
    public double TrainBatch(ReadOnlySpan<double> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<double> targets, int batch, SgdStep sgd)
    {
        ReferenceGradients gradients = Gradients(inputs, labels, targets, batch);
        Step(gradients.Parameters, sgd);
        return gradients.Loss;
    }

    private void Update(int p, double g, SgdStep sgd)
    {
        double momentum = sgd.Momentum;
        Momentum[p] = momentum * Momentum[p] + g;
        Parameters[p] -= sgd.LearningRate * (sgd.Nesterov != 0 ? g + momentum * Momentum[p] : Momentum[p]);
    }

    private DenseActivations[] RunForward(ReadOnlySpan<double> inputs, int batch)
    {
        var saved = new DenseActivations[_architecture.Layers.Length];
        double[] x = inputs.ToArray();
        for (int l = 0; l < saved.Length; l++)
        {
            saved[l] = DenseForward(l, x, batch);
            x = saved[l].Y;
        }

        return saved;
    }

    /// <summary>What a dense layer's forward saves for its backward: its input, pre-activation and activation.</summary>
    private sealed record DenseActivations(double[] X, double[] Z, double[] Y);

    // x: (B, In), W: (Out, In), b: (Out), z and y: (B, Out)
    private DenseActivations DenseForward(int l, double[] x, int batch)
    {
        DenseLayerArchitecture layer = _architecture.Layers[l];
        int inputs = layer.Inputs;
        int units = layer.Units;
        ReadOnlySpan<double> w = Parameters.AsSpan(_architecture.WeightOffset(l), layer.WeightCount);
        ReadOnlySpan<double> b = Parameters.AsSpan(_architecture.BiasOffset(l), units);

        var z = new double[batch * units];
        var y = new double[batch * units];
        for (int s = 0; s < batch; s++)
        {
            for (int o = 0; o < units; o++)
            {
                double sum = b[o];
                for (int i = 0; i < inputs; i++)
                {
                    sum += w[o * inputs + i] * x[s * inputs + i];
                }

                z[s * units + o] = sum;
                y[s * units + o] = ReferenceMath.Activate(layer.Activation, sum);
            }
        }

        return new DenseActivations(x, z, y);
    }

    // dy: (B, Out) in, dx: (B, In) out; dW: (Out, In) and db: (Out) accumulate into dparameters.
    private double[] DenseBackward(int l, DenseActivations saved, double[] dy, int batch, double[] dparameters)
    {
        DenseLayerArchitecture layer = _architecture.Layers[l];
        int inputs = layer.Inputs;
        int units = layer.Units;
        ReadOnlySpan<double> w = Parameters.AsSpan(_architecture.WeightOffset(l), layer.WeightCount);
        Span<double> dw = dparameters.AsSpan(_architecture.WeightOffset(l), layer.WeightCount);
        Span<double> db = dparameters.AsSpan(_architecture.BiasOffset(l), units);
        double[] x = saved.X;

        var dx = new double[batch * inputs];
        for (int s = 0; s < batch; s++)
        {
            for (int o = 0; o < units; o++)
            {
                // y = f(z)
                double dz = ReferenceMath.Derivative(layer.Activation, saved.Z[s * units + o], saved.Y[s * units + o]) * dy[s * units + o];

                // z = b[o] + sum over i of W[o, i] x[i]
                db[o] += dz;
                for (int i = 0; i < inputs; i++)
                {
                    dw[o * inputs + i] += dz * x[s * inputs + i];
                    dx[s * inputs + i] += w[o * inputs + i] * dz;
                }
            }
        }

        if (_masks[l] is { } mask)
        {
            // A masked weight is a constant zero, not a parameter: it has no gradient.
            for (int i = 0; i < dw.Length; i++)
            {
                dw[i] *= mask[i];
            }
        }

        return dx;
    }

    // y: (B, Out), labels: (B) or targets: (B, Out), losses: (B)
    private double[] LossForward(double[] y, ReadOnlySpan<int> labels, ReadOnlySpan<double> targets, int batch)
    {
        int outputs = _architecture.OutputSize;
        var losses = new double[batch];
        for (int s = 0; s < batch; s++)
        {
            ReadOnlySpan<double> ys = y.AsSpan(s * outputs, outputs);
            if (_architecture.Loss == Loss.SoftmaxCrossEntropy)
            {
                // loss = -log softmax(y)[label] = logsumexp(y) - y[label]
                losses[s] = LogSumExp(ys) - ys[labels[s]];
            }
            else
            {
                // loss = mean over outputs of (y - t)^2
                ReadOnlySpan<double> ts = targets.Slice(s * outputs, outputs);
                double sum = 0;
                for (int o = 0; o < outputs; o++)
                {
                    sum += (ys[o] - ts[o]) * (ys[o] - ts[o]);
                }

                losses[s] = sum / outputs;
            }
        }

        return losses;
    }

    // The gradient of the batch's mean loss with respect to y: (B, Out).
    private double[] LossBackward(double[] y, ReadOnlySpan<int> labels, ReadOnlySpan<double> targets, int batch)
    {
        int outputs = _architecture.OutputSize;
        var dy = new double[batch * outputs];
        for (int s = 0; s < batch; s++)
        {
            ReadOnlySpan<double> ys = y.AsSpan(s * outputs, outputs);
            if (_architecture.Loss == Loss.SoftmaxCrossEntropy)
            {
                // loss = (1/B) (logsumexp(y) - y[label])  =>  dy = (softmax(y) - onehot(label)) / B
                double logSumExp = LogSumExp(ys);
                for (int o = 0; o < outputs; o++)
                {
                    double softmax = Math.Exp(ys[o] - logSumExp);
                    dy[s * outputs + o] = (softmax - (o == labels[s] ? 1 : 0)) / batch;
                }
            }
            else
            {
                // loss = (1/B) (1/Out) sum over o of (y - t)^2  =>  dy = 2 (y - t) / (B Out)
                for (int o = 0; o < outputs; o++)
                {
                    dy[s * outputs + o] = 2 * (ys[o] - targets[s * outputs + o]) / (batch * outputs);
                }
            }
        }

        return dy;
    }

    // log(sum exp(v)), shifted by the maximum so that no exponential overflows.
    private static double LogSumExp(ReadOnlySpan<double> v)
    {
        double max = double.NegativeInfinity;
        foreach (double value in v)
        {
            max = Math.Max(max, value);
        }

        double sum = 0;
        foreach (double value in v)
        {
            sum += Math.Exp(value - max);
        }

        return max + Math.Log(sum);
    }

    private void CheckInputs(ReadOnlySpan<double> inputs, int batch)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        if (inputs.Length != batch * _architecture.InputSize)
        {
            throw new ArgumentException($"Expected {batch} x {_architecture.InputSize} inputs, got {inputs.Length}.", nameof(inputs));
        }
    }

    private void CheckBatch(ReadOnlySpan<double> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<double> targets, int batch)
    {
        CheckInputs(inputs, batch);
        int outputs = _architecture.OutputSize;
        if (_architecture.Loss == Loss.SoftmaxCrossEntropy)
        {
            if (labels.Length != batch)
            {
                throw new ArgumentException($"Softmax cross-entropy needs one label per sample: expected {batch}, got {labels.Length}.", nameof(labels));
            }

            foreach (int label in labels)
            {
                if (label < 0 || label >= outputs)
                {
                    throw new ArgumentOutOfRangeException(nameof(labels), label, $"A label must be a class index in [0, {outputs}).");
                }
            }
        }
        else if (targets.Length != batch * outputs)
        {
            throw new ArgumentException($"Mean squared error needs {batch} x {outputs} targets, got {targets.Length}.", nameof(targets));
        }
    }
}

/// <summary>What <see cref="ReferenceNetwork.Gradients"/> computes for one batch.</summary>
/// <param name="Loss">The batch's mean loss.</param>
/// <param name="Parameters">dLoss/dparameters, laid out like the parameters; zero for masked weights.</param>
/// <param name="Inputs">dLoss/dinputs: (B, InputSize).</param>
public sealed record ReferenceGradients(double Loss, double[] Parameters, double[] Inputs);
