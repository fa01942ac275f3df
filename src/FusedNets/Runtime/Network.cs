using FusedNets.Backends;
using FusedNets.Generated;
using FusedNets.Persistence;

namespace FusedNets;

/// <summary>
/// The runtime half of every declared network: the generated partial class derives from this, adds typed
/// members (<c>Input</c>, <c>Output</c>, <c>Predict(in Input)</c>, the <c>TrainBatch</c> overload its loss
/// takes) and delegates here. Arguments are validated before any backend sees them.
/// </summary>
/// <remarks>
/// <para>
/// Every argument is checked before anything changes: a wrong span length, a label outside [0, classes),
/// a NaN or infinity in training inputs or targets, an empty data set or a batch size below 1 throws an
/// <see cref="ArgumentException"/> (or <see cref="ArgumentOutOfRangeException"/>) naming the parameter and the
/// offending value, and leaves the network exactly as it was. A disposed network throws
/// <see cref="ObjectDisposedException"/>. A training step that goes non-finite throws
/// <see cref="TrainingDivergedException"/> and is dropped.
/// </para>
/// <para>
/// A network may be shared between threads: its operations (Predict, training, evaluation, saving, reading
/// or setting parameters, Dispose) run one at a time, so concurrent calls give the results of some sequential
/// order. <see cref="Fit"/> lets other calls in between its batches. The spans of <see cref="Layer.Weights"/> and
/// <see cref="Layer.Bias"/> are not guarded: edit them only while no other thread uses the network.
/// </para>
/// </remarks>
public abstract partial class Network : IDisposable
{
    private readonly INetworkEngine _engine;
    private readonly Lock _gate = new();
    private readonly float[] _parameters;
    // Each layer's mask as the engines take it, and as a LayerMask: declared, until pruning replaces both.
    private readonly float[]?[] _masks;
    private readonly LayerMask[] _layerMasks;
    private readonly Layer[] _layers;
    private bool _hostParametersStale;
    private bool _hostParametersEdited;
    private bool _disposed;

    // What the engine's optimizer state buffers hold, and how many steps made it: Adam's t.
    private OptimizerStateKind _optimizerState;
    private long _optimizerSteps;

    /// <summary>Creates the network's parameters from <paramref name="seed"/> on <paramref name="backend"/>.</summary>
    protected Network(NetworkDefinition definition, int seed, Backend backend)
    {
        ArgumentNullException.ThrowIfNull(definition);
        GeneratedDefinition = definition;
        Architecture = definition.Architecture;
        Seed = seed;

        NetworkArchitecture architecture = Architecture;
        _masks = [.. architecture.Layers.Select(LayerMask.ArrayOf)];
        _layerMasks = [.. architecture.Layers.Select(layer => layer.Mask)];
        _parameters = new float[architecture.ParameterCount];
        Initialization.Initialize(architecture, _masks, seed, _parameters);

        _layers = new Layer[architecture.Layers.Length + 1];
        _layers[0] = new Layer(this, architecture.InputName, architecture.InputShape, null, -1, 0);
        for (int l = 0; l < architecture.Layers.Length; l++)
        {
            LayerArchitecture layer = architecture.Layers[l];
            _layers[l + 1] = new Layer(this, layer.Name, layer.OutputShape, layer, l, architecture.ParameterOffset(l));
        }

        _engine = Engines.Create(definition, backend, _masks);
        _engine.WriteParameters(_parameters);
    }

    public NetworkArchitecture Architecture { get; }

    /// <summary>What the generator emitted for this network's class, for tests that build engines from it.</summary>
    internal NetworkDefinition GeneratedDefinition { get; }

    /// <summary>The backend's engine, for tests that drive it directly.</summary>
    internal INetworkEngine Engine => _engine;

    /// <summary>The seed the parameters were initialized from.</summary>
    public int Seed { get; private set; }

    /// <summary>The backend the network runs on (<see cref="Backend.Auto"/> resolved).</summary>
    public Backend Backend => _engine.Backend;

    /// <summary>The device, in words.</summary>
    public string DeviceName => _engine.DeviceName;

    /// <summary>The input layer, then every other layer, in declaration order.</summary>
    public IReadOnlyList<Layer> Layers => _layers;

    /// <summary>The loss this network trains with.</summary>
    public Loss Loss => Architecture.Loss;

    /// <summary>
    /// Runs a batch forward: <paramref name="inputs"/> holds n × InputSize floats, <paramref name="outputs"/>
    /// receives n × OutputSize (the last layer's activations: logits for a softmax classifier).
    /// </summary>
    /// <remarks>Inputs are not scanned for NaN here: a non-finite input gives non-finite outputs and changes nothing.</remarks>
    public void Predict(ReadOnlySpan<float> inputs, Span<float> outputs)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            int batch = CheckInputs(inputs, nameof(inputs));
            CheckLength(outputs.Length, batch, Architecture.OutputSize, nameof(outputs));
            if (batch == 0)
            {
                return;
            }

            PrepareEngine();
            _engine.Predict(inputs, outputs, batch);
        }
    }

    /// <summary>
    /// One sample forward, for the generated <c>Predict(in Input)</c>: its fixed-size types already guarantee
    /// the lengths, so this goes straight to the engine's single-sample path.
    /// </summary>
    protected void PredictSample(ReadOnlySpan<float> input, Span<float> output)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            PrepareEngine();
            _engine.Predict(input, output, 1);
        }
    }

    /// <summary>Copies every parameter (the flat layout of <see cref="NetworkArchitecture"/>) out.</summary>
    public void CopyParametersTo(Span<float> destination)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            CheckLength(destination.Length, 1, Architecture.ParameterCount, nameof(destination));
            SyncHostParameters();
            _parameters.CopyTo(destination);
        }
    }

    /// <summary>
    /// Replaces every parameter; masked weights (declared or pruned) are forced to zero, so the masks stay as they were.
    /// Every value must be finite.
    /// </summary>
    public void SetParameters(ReadOnlySpan<float> source)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            CheckLength(source.Length, 1, Architecture.ParameterCount, nameof(source));
            CheckFinite(source, nameof(source), "parameter");
            source.CopyTo(_parameters);
            ApplyMasks(_parameters);
            _hostParametersStale = false;
            _hostParametersEdited = true;
        }
    }

    /// <summary>Releases the backend's memory and threads; waits for a call in progress on another thread to finish.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (!_disposed)
            {
                _disposed = true;
                _engine.Dispose();
            }
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>One optimizer step at its learning rate; the generated <c>TrainBatch</c> overload of the network's loss calls this.</summary>
    /// <exception cref="TrainingDivergedException">The step went non-finite and was dropped: parameters and optimizer state are unchanged.</exception>
    protected internal float TrainBatchCore(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, Optimizer optimizer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(optimizer);
        CheckBatch(inputs, labels, targets);
        CheckFinite(inputs, nameof(inputs), "input");
        CheckFinite(targets, nameof(targets), "target");
        CheckStandardizationIsSet();
        return TrainStep(inputs, labels, targets, optimizer, optimizer.LearningRate, epoch: null, batchNumber: null);
    }

    /// <summary>
    /// One step on a batch whose values are already known to be finite, the next of the network's optimizer state. Labels
    /// are checked again here: they index memory in the engines, and checking a batch of them costs nothing next to the step.
    /// </summary>
    private float TrainStep(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, Optimizer optimizer, float learningRate, int? epoch, int? batchNumber)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            int batch = CheckBatch(inputs, labels, targets);
            PrepareEngine();
            SavedOptimizerState? previous = StartOptimizerState(optimizer);
            float loss = _engine.TrainBatch(inputs, labels, targets, batch, optimizer.ToStep(learningRate, _optimizerSteps + 1));
            if (float.IsNaN(loss))
            {
                if (previous is not null)
                {
                    WriteOptimizerState(previous);
                }

                throw new TrainingDivergedException(epoch, batchNumber, LossBeforeStep(inputs, labels, targets, batch));
            }

            _optimizerSteps++;
            _hostParametersStale = true;
            return loss;
        }
    }

    /// <summary>
    /// Before a step of <paramref name="optimizer"/>: unless the engine's state buffers already hold its kind of state,
    /// starts that state afresh (zero moments, no steps), as a new PyTorch optimizer would. SGD's velocity means nothing
    /// to Adam, nor Adam's moments to SGD (<see cref="Optimizer"/>). Returns the state it replaced, for a first step that
    /// diverges to put back, or null when it replaced nothing.
    /// </summary>
    private SavedOptimizerState? StartOptimizerState(Optimizer optimizer)
    {
        OptimizerStateKind kind = optimizer.StateKind;
        if (kind == _optimizerState)
        {
            return null;
        }

        SavedOptimizerState previous = ReadOptimizerState();
        var zeros = new float[Architecture.ParameterCount];
        _engine.WriteMomentum(zeros);
        if (kind == OptimizerStateKind.AdamMoments)
        {
            _engine.WriteSecondMoment(zeros);
        }

        _optimizerState = kind;
        _optimizerSteps = 0;
        return previous;
    }

    /// <summary>The batch's mean loss under the current parameters: what a diverged step started from.</summary>
    private float LossBeforeStep(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, int batch)
    {
        var outputs = new float[batch * Architecture.OutputSize];
        var losses = new float[batch];
        _engine.Evaluate(inputs, labels, targets, batch, outputs, losses);
        double sum = 0;
        foreach (float loss in losses)
        {
            sum += loss;
        }

        return (float)(sum / batch);
    }

    /// <summary>dLoss/dinputs for a batch, parameters unchanged; returns the batch's mean loss.</summary>
    protected internal float InputGradientCore(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, Span<float> inputGradient)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            int batch = CheckBatch(inputs, labels, targets);
            CheckLength(inputGradient.Length, batch, Architecture.InputSize, nameof(inputGradient));
            CheckFinite(inputs, nameof(inputs), "input");
            CheckFinite(targets, nameof(targets), "target");
            PrepareEngine();
            return _engine.InputGradient(inputs, labels, targets, batch, inputGradient);
        }
    }

    /// <summary>A writable view of part of the parameters, for <see cref="Layer"/>.</summary>
    internal Span<float> EditParameters(int offset, int length)
    {
        lock (_gate)
        {
            SyncHostParameters();
            _hostParametersEdited = true;
            return _parameters.AsSpan(offset, length);
        }
    }

    private void SyncHostParameters()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_hostParametersStale)
        {
            _engine.ReadParameters(_parameters);
            _hostParametersStale = false;
        }
    }

    /// <summary>
    /// Copies the parameters and the optimizer's state (its kind, moments and step count) into <paramref name="state"/>:
    /// all that decides how training goes on from here.
    /// </summary>
    private void CaptureTrainingState(TrainingState state)
    {
        lock (_gate)
        {
            PrepareEngine();
            SyncHostParameters();
            _parameters.CopyTo(state.Parameters, 0);
            _engine.ReadMomentum(state.Momentum);
            if (_optimizerState == OptimizerStateKind.AdamMoments)
            {
                _engine.ReadSecondMoment(state.SecondMoment);
            }

            (state.Kind, state.Steps) = (_optimizerState, _optimizerSteps);
        }
    }

    /// <summary>Puts back what <see cref="CaptureTrainingState"/> copied, as if nothing had happened since.</summary>
    private void RestoreTrainingState(TrainingState state)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            state.Parameters.CopyTo(_parameters, 0);
            _engine.WriteParameters(_parameters);
            _engine.WriteMomentum(state.Momentum);
            if (state.Kind == OptimizerStateKind.AdamMoments)
            {
                _engine.WriteSecondMoment(state.SecondMoment);
            }

            (_optimizerState, _optimizerSteps) = (state.Kind, state.Steps);
            _hostParametersStale = false;
            _hostParametersEdited = false;
        }
    }

    /// <summary>The parameters and optimizer state at one point of training, in the flat parameter layout.</summary>
    private sealed class TrainingState(int parameterCount)
    {
        public float[] Parameters { get; } = new float[parameterCount];

        public float[] Momentum { get; } = new float[parameterCount];

        /// <summary>Adam's second moment; allocated when first needed.</summary>
        public float[] SecondMoment => _secondMoment ??= new float[Parameters.Length];

        public OptimizerStateKind Kind { get; set; }

        public long Steps { get; set; }

        private float[]? _secondMoment;
    }

    /// <summary>Pushes parameter edits made through <see cref="Layer"/> spans, re-applying the masks.</summary>
    private void PrepareEngine()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_hostParametersEdited)
        {
            return;
        }

        ApplyMasks(_parameters);
        _engine.WriteParameters(_parameters);
        _hostParametersEdited = false;
    }

    /// <summary>Zeroes the masked weights of a vector in the flat parameter layout (parameters or momentum).</summary>
    private void ApplyMasks(Span<float> values)
    {
        for (int l = 0; l < _masks.Length; l++)
        {
            if (_masks[l] is { } mask)
            {
                Span<float> weights = values.Slice(Architecture.WeightOffset(l), mask.Length);
                for (int i = 0; i < mask.Length; i++)
                {
                    weights[i] *= mask[i];
                }
            }
        }
    }
}
