using FusedNets.Backends;
using FusedNets.Backends.Cpu;

namespace FusedNets.Generated;

/// <summary>
/// The CPU engine at one vector width: owns the layers (<see cref="CpuLayer{TVector, TOps}"/>, one per declared
/// layer, each of its kind) and the shared workspace, and runs each call as one pass of phases over the worker
/// pool, asking the network's generated <see cref="CpuKernels{TVector, TOps}"/> which kind's kernel each layer runs
/// and with which activation and loss. It knows no layer kind. Generated code sees it only as the argument it
/// hands on to those kernels. Phases, separated by barriers (L layers):
/// <code>
///   input        transpose the batch to feature-major
///   forward l    z_l = map_l(x_l), y_l = f_l(z_l)                                       for l = 0..L-1
///   loss         per-sample loss and the last layer's delta; outputs written
///   backward l   delta of layer l-1 from layer l (its parameters before the step),
///                and the optimizer step of layer l+1 (layer 0's too, at l = 0)            for l = L-1..0
/// </code>
/// The step writes each layer's next parameter buffers; a step whose loss or any new parameter or moment is
/// not finite is dropped by not flipping to them (<see cref="CpuWeights"/>), so it leaves no trace. The step's
/// rule (<see cref="IUpdateRule"/>) reaches the layers as a type argument (<see cref="LayerUpdate"/>). Each phase
/// splits its outputs over the threads by index, and each output element is one fixed chain of operations, so
/// results do not depend on the thread count or on timing.
/// </summary>
[System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
public sealed unsafe partial class CpuPipeline<TVector, TOps> : INetworkEngine
    where TVector : unmanaged
    where TOps : IVectorOps<TVector>
{
    private readonly NetworkArchitecture _architecture;
    private readonly CpuKernels<TVector, TOps> _kernels;
    private readonly CpuLayer<TVector, TOps>[] _layers;
    private readonly CpuEngineOptions _options;
    private readonly long _trainFlopsPerSample;
    private readonly AlignedBuffer[] _singleSample;
    private readonly Action<int> _runPassOnThread;
    private readonly Action<int> _predictOneOnThread;

    // One vector per thread, a cache line apart: the update epilogues add NaN here if a step goes non-finite.
    private const int NonFiniteSlotFloats = 16;
    private readonly AlignedBuffer _nonFinite;
    private WorkerPool? _pool;
    private CpuWorkspace? _workspace;

    // The standardization of the input (see CpuPipeline.Standardization.cs), and the one sample in flight standardized;
    // null for a network that does not standardize.
    private readonly AlignedBuffer? _inputMean, _inputDeviation, _standardizedSample;

    // The pass in flight: written by the calling thread before the pass, read by every thread during it.
    private Pass _pass;
    private float* _singleSampleInput;

    internal CpuPipeline(NetworkArchitecture architecture, CpuKernels<TVector, TOps> kernels, IReadOnlyList<float[]?> masks, CpuEngineOptions options)
    {
        _architecture = architecture;
        _kernels = kernels;
        _options = options;
        _layers = new CpuLayer<TVector, TOps>[architecture.Layers.Length];
        long parameterBytes = 0;
        for (int l = 0; l < _layers.Length; l++)
        {
            _layers[l] = architecture.Layers[l].CreateCpuLayer<TVector, TOps>(l, masks[l]);
            _trainFlopsPerSample += 3 * _layers[l].ForwardFlopsPerSample;
            parameterBytes += _layers[l].Weights?.Bytes ?? 0;
        }

        StreamingUpdates = parameterBytes > StreamingUpdateBytes;
        if (architecture.StandardizesInput)
        {
            (_inputMean, _inputDeviation) = IdentityStandardization(architecture.InputSize);
            _standardizedSample = new AlignedBuffer(_inputMean.Length);
            _layers[0].ReadsStandardizedInput = true;
        }

        // Layer l's output, in whole vectors; the sample itself is read where the caller keeps it.
        _singleSample = new AlignedBuffer[_layers.Length];
        for (int l = 0; l < _layers.Length; l++)
        {
            _singleSample[l] = new AlignedBuffer(CpuLayout.RoundUp(_layers[l].Architecture.Units, TOps.Count));
        }

        _runPassOnThread = RunPassOnThread;
        _predictOneOnThread = PredictOneOnThread;
        _nonFinite = new AlignedBuffer((long)options.Threads * NonFiniteSlotFloats);
    }

    [Flags]
    private enum Pass
    {
        Forward = 0,
        WriteOutputs = 1,
        Loss = 2,
        Update = 4,
        InputGradient = 8,

        /// <summary>The loss phase replaced by a given dL/dy (the pass's targets): a vector-Jacobian product.</summary>
        Seeded = 16,
    }

    // Parameters above this many bytes, four buffers of them (W, V and the next two), do not stay in the last
    // level cache from one step to the next: the update then writes its next buffers with streaming stores,
    // which skip reading each line before overwriting it. Below it they would push the parameters out to
    // memory for nothing. Measured on Zen 5 (32 MB L3): the update phase 10 % faster at 30 MB
    // (784-1024-1024-10), the step 8 % slower at 2 MB (784-128-128-10), no clear change at 11 MB
    // (784-512-512-10), which stays below the line.
    private const long StreamingUpdateBytes = 16L << 20;

    Backend INetworkEngine.Backend => Backend.Cpu;

    string INetworkEngine.DeviceName => $"CPU ({TOps.Name}{(MultiplyAdds.AreFused ? "" : ", no FMA")}, {_options.Threads} thread{(_options.Threads == 1 ? "" : "s")})";

    /// <summary>The layers, for their kinds' kernels.</summary>
    internal CpuLayer<TVector, TOps>[] Layers => _layers;

    /// <summary>Layer <paramref name="index"/> as its kind's type: what the kinds' entry points for generated code call.</summary>
    internal TLayer Layer<TLayer>(int index)
        where TLayer : CpuLayer<TVector, TOps> => (TLayer)_layers[index];

    private int Last => _layers.Length - 1;

    // ---- What the layers read during a pass ----

    /// <summary>Samples in the pass.</summary>
    internal int Batch { get; private set; }

    /// <summary>P: the batch rounded up to whole vectors, the distance between two rows of feature-major values.</summary>
    internal int Stride { get; private set; }

    /// <summary>Threads taking part in the pass.</summary>
    internal int PassThreads { get; private set; }

    /// <summary>Whether the pass trains: layers then also prepare what their update reads.</summary>
    internal bool Training => (_pass & Pass.Update) != 0;

    /// <summary>The caller's batch, sample-major (Batch, InputSize).</summary>
    internal float* Inputs { get; private set; }

    internal int* Labels { get; private set; }

    /// <summary>The caller's targets, sample-major (Batch, OutputSize).</summary>
    internal float* Targets { get; private set; }

    /// <summary>The optimizer step of a training pass.</summary>
    internal OptimizerStep Step { get; private set; }

    /// <summary>Whether the update writes the next parameter buffers with streaming stores (see <see cref="StreamingUpdateBytes"/>).</summary>
    internal bool StreamingUpdates { get; }

    internal CpuWorkspace Workspace => _workspace!;

    internal NetworkArchitecture Architecture => _architecture;

    /// <summary>Layer <paramref name="l"/>'s input, feature-major (Inputs, P): the batch or the previous layer's y.</summary>
    internal float* InputOf(int l) => l == 0 ? Workspace.InputColumns.Pointer : Workspace.Activations[l - 1].Pointer;

    /// <summary>This thread's vector for the non-finite check of <see cref="INetworkEngine.TrainBatch"/>.</summary>
    internal float* NonFiniteSlot(int thread) => _nonFinite.Pointer + thread * NonFiniteSlotFloats;

    /// <summary>This thread's share of <paramref name="count"/> items, in whole blocks of <paramref name="block"/>.</summary>
    internal (int Start, int End) Share(int count, int block, int thread)
    {
        int blocks = (count + block - 1) / block;
        int start = blocks * thread / PassThreads * block;
        int end = blocks * (thread + 1) / PassThreads * block;
        return (Math.Min(start, count), Math.Min(end, count));
    }

    /// <summary>
    /// This thread's rows of a product. The tile kernel takes a partial tile nearly at full speed, so rows are
    /// shared evenly rather than in whole tiles (which gave one thread 66 rows of 128 and the other 62), in
    /// blocks of 16 where there are enough: the threads' sample-major copies of their rows then write
    /// separate cache lines.
    /// </summary>
    internal (int Start, int End) ShareRows(int count, int thread) => Share(count, count >= 16 * PassThreads ? 16 : 1, thread);

    // ---- INetworkEngine ----

    void INetworkEngine.Predict(ReadOnlySpan<float> inputs, Span<float> outputs, int batch)
    {
        if (batch == 1)
        {
            PredictOne(inputs, outputs);
            return;
        }

        RunPass(Pass.WriteOutputs, inputs, default, default, outputs, default, batch, default);
    }

    float INetworkEngine.TrainBatch(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, int batch, OptimizerStep step)
    {
        if (step.HasSecondMoment)
        {
            foreach (CpuLayer<TVector, TOps> layer in _layers)
            {
                layer.Weights?.EnsureSecondMoments();
            }
        }

        _nonFinite.AsSpan().Clear();
        RunPass(Pass.Loss | Pass.Update, inputs, labels, targets, default, default, batch, step);
        float loss = MeanLoss(batch);
        float nonFinite = 0;
        foreach (float slot in _nonFinite.AsSpan())
        {
            nonFinite += slot;
        }

        if (!float.IsFinite(loss) || nonFinite != 0)
        {
            return float.NaN; // the step's buffers are dropped: parameters and moments stay as they were
        }

        foreach (CpuLayer<TVector, TOps> layer in _layers)
        {
            layer.Weights?.Flip(step.HasSecondMoment);
        }

        _lastStepHadSecondMoment = step.HasSecondMoment;
        return loss;
    }

    /// <summary>
    /// Undoes the last successful <see cref="INetworkEngine.TrainBatch"/> by flipping back to the buffers it read, which
    /// it left as they were: for a caller whose step spans several engines and must be dropped by all when one fails.
    /// Valid only right after that step.
    /// </summary>
    internal void RevertStep()
    {
        foreach (CpuLayer<TVector, TOps> layer in _layers)
        {
            layer.Weights?.Flip(_lastStepHadSecondMoment);
        }
    }

    private bool _lastStepHadSecondMoment;

    float INetworkEngine.InputGradient(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, int batch, Span<float> inputGradient)
    {
        RunPass(Pass.Loss | Pass.InputGradient, inputs, labels, targets, default, inputGradient, batch, default);
        return MeanLoss(batch);
    }

    void INetworkEngine.Evaluate(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, int batch, Span<float> outputs, Span<float> losses)
    {
        RunPass(Pass.Loss | Pass.WriteOutputs, inputs, labels, targets, outputs, default, batch, default);
        _workspace!.Losses.AsSpan(0, batch).CopyTo(losses);
    }

    void IDisposable.Dispose()
    {
        _pool?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>A network never disposed still ends its worker threads once it is collected.</summary>
    ~CpuPipeline() => _pool?.Stop();

    // ---- Single-sample prediction: no batch machinery. ----

    /// <summary>Where layer <paramref name="layer"/> reads the sample in flight: the caller's input, or the layer before's output.</summary>
    internal float* SingleSampleInput(int layer) => layer == 0 ? _singleSampleInput : _singleSample[layer - 1].Pointer;

    /// <summary>Where layer <paramref name="layer"/> writes its output for the sample in flight, in whole vectors.</summary>
    internal float* SingleSampleOutput(int layer) => _singleSample[layer].Pointer;

    /// <summary>Every layer for the sample in flight, each thread its share of each, a barrier between layers.</summary>
    private void PredictOneOnThread(int thread)
    {
        for (int l = 0; l < _layers.Length; l++)
        {
            if (thread == 0 || _layers[l].PredictSplitsAcrossThreads)
            {
                _kernels.Predict(this, l, thread);
            }

            if (l < Last)
            {
                Synchronize();
            }
        }
    }

    private void PredictOne(ReadOnlySpan<float> inputs, Span<float> outputs)
    {
        foreach (CpuLayer<TVector, TOps> layer in _layers)
        {
            layer.PrepareToPredict();
        }

        // Large networks split their layers across the cores. Small ones stay on the caller: hand-offs and
        // barriers cost about a microsecond, and far more when another process holds a core the barrier waits
        // for, a tail no latency-bound caller wants.
        PassThreads = _trainFlopsPerSample / 3 >= _options.ParallelFlops ? _options.Threads : 1;
        fixed (float* input = inputs)
        {
            _singleSampleInput = StandardizesInput ? StandardizeSample(input) : input;
            if (PassThreads > 1)
            {
                _pool ??= new WorkerPool(_options.Threads);
                _pool.Run(_predictOneOnThread);
            }
            else
            {
                PredictOneOnThread(0);
            }

            _singleSampleInput = null;
        }

        _singleSample[^1].AsSpan()[..outputs.Length].CopyTo(outputs);
    }

    // ---- Batched passes ----

    private void RunPass(Pass pass, ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, Span<float> outputs, Span<float> inputGradient, int batch, OptimizerStep step)
    {
        if (_workspace is null || _workspace.Capacity < batch)
        {
            _workspace = new CpuWorkspace(_architecture, batch, TOps.Count);
            foreach (CpuLayer<TVector, TOps> layer in _layers)
            {
                layer.EnsureCapacity(batch, CpuLayout.RoundUp(batch, TOps.Count));
            }
        }

        long flops = batch * ((pass & (Pass.Update | Pass.InputGradient)) != 0 ? _trainFlopsPerSample : _trainFlopsPerSample / 3);
        int threads = flops >= _options.ParallelFlops ? _options.Threads : 1;
        fixed (float* inputPointer = inputs)
        fixed (int* labelPointer = labels)
        fixed (float* targetPointer = targets)
        fixed (float* outputPointer = outputs)
        fixed (float* inputGradientPointer = inputGradient)
        {
            _pass = pass;
            Batch = batch;
            Stride = CpuLayout.RoundUp(batch, TOps.Count);
            PassThreads = threads;
            Inputs = inputPointer;
            Labels = labelPointer;
            Targets = targetPointer;
            _outputs = outputPointer;
            _inputGradient = inputGradientPointer;
            Step = step;
            if (threads > 1)
            {
                _pool ??= new WorkerPool(threads);
                _pool.Run(_runPassOnThread);
            }
            else
            {
                RunPassOnThread(0);
            }

            // The pointers die with the fixed block.
            Inputs = Targets = _outputs = _inputGradient = null;
            Labels = null;
        }
    }

    private float* _outputs;
    private float* _inputGradient;

    private void RunPassOnThread(int thread)
    {
        PrepareInputs(thread);
        Synchronize();
        for (int l = 0; l < _layers.Length; l++)
        {
            _kernels.Forward(this, l, thread);
            Synchronize();
        }

        if ((_pass & Pass.WriteOutputs) != 0)
        {
            (int first, int end) = Share(Batch, 1, thread);
            int units = _layers[Last].Architecture.Units;
            Transposes.Transpose(Workspace.Activations[Last].Pointer + first, Stride, _outputs + first * units, units, units, end - first);
        }

        if ((_pass & Pass.Loss) != 0)
        {
            _kernels.Loss(this, thread);
            Synchronize();
        }
        else if ((_pass & Pass.Seeded) != 0)
        {
            SeedOutputGradient(thread);
            Synchronize();
        }

        bool update = (_pass & Pass.Update) != 0, inputGradient = (_pass & Pass.InputGradient) != 0;
        if (!update && !inputGradient)
        {
            return;
        }

        for (int l = Last; l >= 0; l--)
        {
            // Layer l's backward data reads its parameters before the next phase updates them; the update of
            // l + 1 is independent of it and shares the phase, and layer 0's update needs only delta_0, ready now.
            if (l > 0)
            {
                _kernels.Backward(this, l, thread);
            }
            else if (inputGradient)
            {
                _layers[0].BackwardToInputs(this, thread);
            }

            if (update && l < Last)
            {
                Update(l + 1, thread);
            }

            if (update && l == 0)
            {
                Update(0, thread);
            }

            Synchronize();
        }

        if (inputGradient)
        {
            (int first, int end) = Share(Batch, 1, thread);
            int inputSize = _architecture.InputSize;
            Transposes.Transpose(Workspace.InputGradientColumns.Pointer + first, Stride, _inputGradient + first * inputSize, inputSize, inputSize, end - first);
            if (StandardizesInput)
            {
                UnstandardizeGradient(_inputGradient, first, end);
            }
        }
    }

    /// <summary>Layer <paramref name="layer"/>'s update for this thread's share, with the pass's rule as a type argument.</summary>
    private void Update(int layer, int thread)
    {
        var update = new LayerUpdate(_layers[layer], this, thread);
        Step.Apply(ref update);
    }

    private readonly struct LayerUpdate(CpuLayer<TVector, TOps> layer, CpuPipeline<TVector, TOps> cpu, int thread) : IUpdateRuleVisitor
    {
        public void Visit<TRule>(in TRule rule)
            where TRule : struct, IUpdateRule => layer.Update(cpu, thread, rule);
    }

    private void Synchronize()
    {
        if (PassThreads > 1)
        {
            _pool!.Barrier();
        }
    }

    private void PrepareInputs(int thread)
    {
        int inputSize = _architecture.InputSize;
        (int first, int end) = Share(inputSize, 1, thread);
        float* columns = Workspace.InputColumns.Pointer;
        Transposes.Transpose(Inputs + first, inputSize, columns + first * Stride, Stride, Batch, end - first);
        if (StandardizesInput)
        {
            StandardizeColumns(columns, first, end); // this thread's rows, still in its cache
        }

        for (int feature = first; feature < end; feature++)
        {
            // Padding samples are zeros, so they stay finite all the way through the network.
            new Span<float>(columns + feature * Stride + Batch, Stride - Batch).Clear();
        }
    }

    private float MeanLoss(int batch)
    {
        double sum = 0;
        foreach (float loss in _workspace!.Losses.AsSpan(0, batch))
        {
            sum += loss;
        }

        return (float)(sum / batch);
    }
}
