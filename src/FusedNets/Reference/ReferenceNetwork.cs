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
internal sealed partial class ReferenceNetwork
{
    private readonly NetworkArchitecture _architecture;
    private readonly float[]?[] _masks;
    private readonly ReferenceLoss _loss;

    /// <summary>Starts from a copy of <paramref name="parameters"/>, with masked weights set to zero, and zero momentum.</summary>
    /// <param name="architecture">The layers and the loss.</param>
    /// <param name="parameters">The flat parameter vector, laid out as <see cref="NetworkArchitecture"/> describes.</param>
    /// <param name="masks">For each layer, null, or its weight tensor's mask as 1s (kept) and 0s, in the tensor's layout.</param>
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
        _loss = Losses.Reference(architecture.Loss);
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
    /// Each sample's loss: (B). Pass <paramref name="labels"/> for a loss of <see cref="LossTarget.ClassLabels"/> and
    /// <paramref name="targets"/> (B, OutputSize) for one of <see cref="LossTarget.FloatTargets"/>; leave the other empty.
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
        LayerValues[] saved = RunForward(inputs, batch);
        double[] y = saved[^1].Y;
        double loss = LossForward(y, labels, targets, batch).Average();

        var dparameters = new double[_architecture.ParameterCount];
        double[] dy = LossBackward(y, labels, targets, batch);
        for (int l = saved.Length - 1; l >= 0; l--)
        {
            // The gradient of one layer's input is the gradient of the previous layer's output.
            dy = LayerBackward(l, saved[l], dy, batch, dparameters);
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
            float[]? mask = _masks[l];
            int p = _architecture.ParameterOffset(l);
            foreach (ParameterTensor tensor in _architecture.Layers[l].Parameters)
            {
                bool weight = tensor.Role == ParameterRole.Weight;
                for (int i = 0; i < tensor.Size; i++, p++)
                {
                    if (weight && mask is not null && mask[i] == 0)
                    {
                        continue;
                    }

                    Update(p, weight ? gradient[p] + sgd.WeightDecay * Parameters[p] : gradient[p], sgd);
                }
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

    private LayerValues[] RunForward(ReadOnlySpan<double> inputs, int batch)
    {
        var saved = new LayerValues[_architecture.Layers.Length];
        double[] x = inputs.ToArray();
        for (int l = 0; l < saved.Length; l++)
        {
            saved[l] = LayerForward(l, x, batch);
            x = saved[l].Y;
        }

        return saved;
    }

    /// <summary>What a layer's forward saves for its backward: its input x, its kind's map z and the activation y = f(z).</summary>
    private sealed record LayerValues(double[] X, double[] Z, double[] Y);

    // x: (B, Inputs), z and y: (B, Units)
    private LayerValues LayerForward(int l, double[] x, int batch)
    {
        LayerArchitecture layer = _architecture.Layers[l];
        var z = new double[batch * layer.Units];
        layer.ReferenceForward(LayerParameters(l), x, z, batch);
        ActivationRule activation = Activations.Rule(layer.Activation);
        double[] y = [.. z.Select(activation.Reference)];
        return new LayerValues(x, z, y);
    }

    // dy: (B, Units) in, dx: (B, Inputs) out; the layer's parameter gradients accumulate into dparameters.
    private double[] LayerBackward(int l, LayerValues saved, double[] dy, int batch, double[] dparameters)
    {
        LayerArchitecture layer = _architecture.Layers[l];

        // y = f(z)
        ActivationRule activation = Activations.Rule(layer.Activation);
        var dz = new double[dy.Length];
        for (int i = 0; i < dz.Length; i++)
        {
            dz[i] = activation.ReferenceDerivative(saved.Z[i], saved.Y[i]) * dy[i];
        }

        var dx = new double[batch * layer.Inputs];
        Span<double> dlayer = dparameters.AsSpan(_architecture.ParameterOffset(l), layer.ParameterCount);
        layer.ReferenceBackward(LayerParameters(l), saved.X, saved.Z, dz, dlayer, dx, batch);
        if (_masks[l] is { } mask)
        {
            // A masked weight is a constant zero, not a parameter: it has no gradient.
            for (int i = 0; i < mask.Length; i++)
            {
                dlayer[i] *= mask[i];
            }
        }

        return dx;
    }

    private ReadOnlySpan<double> LayerParameters(int l) => Parameters.AsSpan(_architecture.ParameterOffset(l), _architecture.Layers[l].ParameterCount);

    // y: (B, Out), labels: (B) or targets: (B, Out), losses: (B)
    private double[] LossForward(double[] y, ReadOnlySpan<int> labels, ReadOnlySpan<double> targets, int batch)
    {
        int outputs = _architecture.OutputSize;
        var losses = new double[batch];
        for (int s = 0; s < batch; s++)
        {
            losses[s] = _loss.Value(y.AsSpan(s * outputs, outputs), Label(labels, s), SampleTargets(targets, s));
        }

        return losses;
    }

    // The gradient of the batch's mean loss with respect to y: (B, Out), each sample's gradient divided by B.
    private double[] LossBackward(double[] y, ReadOnlySpan<int> labels, ReadOnlySpan<double> targets, int batch)
    {
        int outputs = _architecture.OutputSize;
        var dy = new double[batch * outputs];
        for (int s = 0; s < batch; s++)
        {
            Span<double> sample = dy.AsSpan(s * outputs, outputs);
            _loss.Gradient(y.AsSpan(s * outputs, outputs), Label(labels, s), SampleTargets(targets, s), sample);
            for (int o = 0; o < outputs; o++)
            {
                sample[o] /= batch;
            }
        }

        return dy;
    }

    private static int Label(ReadOnlySpan<int> labels, int sample) => labels.IsEmpty ? -1 : labels[sample];

    private ReadOnlySpan<double> SampleTargets(ReadOnlySpan<double> targets, int sample) =>
        targets.IsEmpty ? default : targets.Slice(sample * _architecture.OutputSize, _architecture.OutputSize);

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
        if (_architecture.IsClassifier)
        {
            if (labels.Length != batch)
            {
                throw new ArgumentException($"{_architecture.Loss} needs one label per sample: expected {batch}, got {labels.Length}.", nameof(labels));
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
            throw new ArgumentException($"{_architecture.Loss} needs {batch} x {outputs} targets, got {targets.Length}.", nameof(targets));
        }
    }
}

/// <summary>What <see cref="ReferenceNetwork.Gradients"/> computes for one batch.</summary>
/// <param name="Loss">The batch's mean loss.</param>
/// <param name="Parameters">dLoss/dparameters, laid out like the parameters; zero for masked weights.</param>
/// <param name="Inputs">dLoss/dinputs: (B, InputSize).</param>
internal sealed record ReferenceGradients(double Loss, double[] Parameters, double[] Inputs);
