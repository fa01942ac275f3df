using FusedNets.Generated;

namespace FusedNets.Reference;

/// <summary>
/// A network of a given <see cref="NetworkArchitecture"/> computed in double precision with plain loops:
/// forward, loss, backward and the optimizer step (SGD, Adam, AdamW). It is the oracle that every backend is tested against, and it is
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

    /// <summary>Starts from a copy of <paramref name="parameters"/>, with masked weights set to zero, and zero optimizer state.</summary>
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
        SecondMoment = new double[parameters.Length];
    }

    public NetworkArchitecture Architecture => _architecture;

    /// <summary>The flat parameter vector (see <see cref="NetworkArchitecture"/>); tests may edit it in place.</summary>
    public double[] Parameters { get; }

    /// <summary>SGD's velocity or Adam's first moment m (exp_avg), laid out like <see cref="Parameters"/>; zero until the first step.</summary>
    public double[] Momentum { get; }

    /// <summary>Adam's second moment v (exp_avg_sq), laid out like <see cref="Parameters"/>; zero until the first Adam step.</summary>
    public double[] SecondMoment { get; }

    /// <summary>
    /// For an architecture that standardizes its input: the statistics, per channel. Every method then takes raw inputs,
    /// x' = (x − mean) / deviation before the first layer, and gives the input gradient with respect to them. Null: none.
    /// </summary>
    public Standardization? Standardization { get; set; }

    /// <summary>Layer <paramref name="layer"/>'s weight mask (1 kept, 0 fixed at zero), or null.</summary>
    public float[]? MaskOf(int layer) => _masks[layer];

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

        return new ReferenceGradients(loss, dparameters, ToRawGradient(dy));
    }

    /// <summary>
    /// One optimizer step, given the loss gradient. Masked weights and their state are left exactly as they are (zero),
    /// whatever the gradient says. Weight decay applies to weights, not biases.
    /// <list type="bullet">
    /// <item>SGD, PyTorch's rule: g = gradient (+ weightDecay * w for weights); v = momentum * v + g;
    /// w -= learningRate * (nesterov ? g + momentum * v : v).</item>
    /// <item>Adam and AdamW, the algorithm of PyTorch's documentation (<c>torch.optim.Adam</c>, <c>torch.optim.AdamW</c>),
    /// with the hyperparameters as the decimals they were written as: see <see cref="AdamUpdate"/>.</item>
    /// </list>
    /// </summary>
    public void Step(ReadOnlySpan<double> gradient, OptimizerStep step)
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

                    if (step.StateKind == OptimizerStateKind.AdamMoments)
                    {
                        AdamUpdate(p, gradient[p], weight, step.Adam);
                    }
                    else
                    {
                        SgdUpdate(p, weight ? gradient[p] + step.Sgd.WeightDecay * Parameters[p] : gradient[p], step.Sgd);
                    }
                }
            }
        }
    }

    /// <summary><see cref="Gradients"/> then <see cref="Step"/>; returns the batch's mean loss before the step.</summary>
    public double TrainBatch(ReadOnlySpan<double> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<double> targets, int batch, OptimizerStep step)
    {
        ReferenceGradients gradients = Gradients(inputs, labels, targets, batch);
        Step(gradients.Parameters, step);
        return gradients.Loss;
    }

    private void SgdUpdate(int p, double g, SgdStep sgd)
    {
        double momentum = sgd.Momentum;
        Momentum[p] = momentum * Momentum[p] + g;
        Parameters[p] -= sgd.LearningRate * (sgd.Nesterov != 0 ? g + momentum * Momentum[p] : Momentum[p]);
    }

    /// <summary>
    /// Step t of Adam, as PyTorch documents it (γ the rate, λ the weight decay; weights only):
    /// <code>
    ///   Adam:  g = gradient + λ θ                 AdamW: θ = θ − γ λ θ, g = gradient
    ///   m = β1 m + (1 − β1) g,   v = β2 v + (1 − β2) g²
    ///   m̂ = m / (1 − β1^t),      v̂ = v / (1 − β2^t)
    ///   θ = θ − γ m̂ / (√v̂ + ε)
    /// </code>
    /// </summary>
    private void AdamUpdate(int p, double gradient, bool weight, AdamStep adam)
    {
        double rate = Optimizer.AsWritten(adam.LearningRate), beta1 = Optimizer.AsWritten(adam.Beta1), beta2 = Optimizer.AsWritten(adam.Beta2);
        double epsilon = Optimizer.AsWritten(adam.Epsilon), decay = weight ? Optimizer.AsWritten(adam.WeightDecay) : 0;
        double g = gradient;
        if (adam.Decoupled != 0)
        {
            Parameters[p] -= rate * decay * Parameters[p];
        }
        else
        {
            g += decay * Parameters[p];
        }

        Momentum[p] = beta1 * Momentum[p] + (1 - beta1) * g;
        SecondMoment[p] = beta2 * SecondMoment[p] + (1 - beta2) * g * g;
        double firstUnbiased = Momentum[p] / (1 - Math.Pow(beta1, adam.Step));
        double secondUnbiased = SecondMoment[p] / (1 - Math.Pow(beta2, adam.Step));
        Parameters[p] -= rate * firstUnbiased / (Math.Sqrt(secondUnbiased) + epsilon);
    }

    /// <summary>The first layer's input: a copy of <paramref name="inputs"/>, x' = (x − mean) / deviation where the network standardizes.</summary>
    private double[] Standardized(ReadOnlySpan<double> inputs)
    {
        double[] x = inputs.ToArray();
        for (int i = 0; Standardization is { } statistics && i < x.Length; i++)
        {
            int channel = ChannelOf(i, statistics);
            x[i] = (x[i] - statistics.Mean[channel]) / statistics.StandardDeviation[channel];
        }

        return x;
    }

    /// <summary>A gradient with respect to the first layer's input, in place, as one with respect to the raw input: x' = (x − mean) / deviation, so dL/dx = dL/dx' / deviation.</summary>
    private double[] ToRawGradient(double[] gradient)
    {
        for (int i = 0; Standardization is { } statistics && i < gradient.Length; i++)
        {
            gradient[i] /= statistics.StandardDeviation[ChannelOf(i, statistics)];
        }

        return gradient;
    }

    private int ChannelOf(int input, Standardization statistics) => input % _architecture.InputSize / (_architecture.InputSize / statistics.Mean.Count);

    private LayerValues[] RunForward(ReadOnlySpan<double> inputs, int batch)
    {
        var saved = new LayerValues[_architecture.Layers.Length];
        double[] x = Standardized(inputs);

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

    // y: (B, Out), labels: (B) or targets: (B, Out), losses: (B). With loss groups (an ensemble), each group of
    // Out / groups outputs has its own loss against the label or its part of the targets, and a sample's loss is their sum.
    private double[] LossForward(double[] y, ReadOnlySpan<int> labels, ReadOnlySpan<double> targets, int batch)
    {
        int outputs = _architecture.OutputSize, groups = _architecture.LossGroups, group = outputs / groups;
        var losses = new double[batch];
        for (int s = 0; s < batch; s++)
        {
            for (int g = 0; g < groups; g++)
            {
                int first = s * outputs + g * group;
                losses[s] += _loss.Value(y.AsSpan(first, group), Label(labels, s), targets.IsEmpty ? default : targets.Slice(first, group));
            }
        }

        return losses;
    }

    // The gradient of the batch's mean loss with respect to y: (B, Out), each sample's gradient divided by B.
    private double[] LossBackward(double[] y, ReadOnlySpan<int> labels, ReadOnlySpan<double> targets, int batch)
    {
        int outputs = _architecture.OutputSize, groups = _architecture.LossGroups, group = outputs / groups;
        var dy = new double[batch * outputs];
        for (int s = 0; s < batch; s++)
        {
            for (int g = 0; g < groups; g++)
            {
                int first = s * outputs + g * group;
                _loss.Gradient(y.AsSpan(first, group), Label(labels, s), targets.IsEmpty ? default : targets.Slice(first, group), dy.AsSpan(first, group));
            }

            for (int o = 0; o < outputs; o++)
            {
                dy[s * outputs + o] /= batch;
            }
        }

        return dy;
    }

    private static int Label(ReadOnlySpan<int> labels, int sample) => labels.IsEmpty ? -1 : labels[sample];

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
                if (label < 0 || label >= outputs / _architecture.LossGroups)
                {
                    throw new ArgumentOutOfRangeException(nameof(labels), label, $"A label must be a class index in [0, {outputs / _architecture.LossGroups}).");
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
