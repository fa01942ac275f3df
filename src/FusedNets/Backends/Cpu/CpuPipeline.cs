using System.Runtime.Intrinsics.X86;

namespace FusedNets.Backends.Cpu;

/// <summary>
/// The CPU engine at one vector width: owns the parameters and workspaces and runs each call as one pass
/// of phases over the worker pool, asking the network's generated <see cref="CpuKernels{TVector, TOps}"/> which
/// product each layer runs. Phases, separated by barriers (L layers):
/// <code>
///   input        transpose the batch to feature-major (and copy it sample-major when training)
///   forward l    zᵀ, yᵀ = f(W xᵀ + b), then the sample-major copy of y          for l = 0..L-1
///   loss         per-sample loss and the last layer's delta; outputs written
///   backward l   delta of layer l-1 from layer l (old W), and SGD on layer l+1   for l = L-1..0
/// </code>
/// SGD writes each layer's next parameter buffers; a step whose loss or any new parameter or velocity is
/// not finite is dropped by not flipping to them (<see cref="CpuLayer"/>), so it leaves no trace.
/// Each phase splits its output rows (or samples) over the threads by index, and each output element is
/// one fixed chain of operations, so results do not depend on the thread count or on timing.
/// </summary>
[System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
public sealed unsafe class CpuPipeline<TVector, TOps> : INetworkEngine
    where TVector : unmanaged
    where TOps : IVectorOps<TVector>
{
    private readonly NetworkArchitecture _architecture;
    private readonly CpuKernels<TVector, TOps> _kernels;
    private readonly CpuLayer[] _layers;
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

    // The pass in flight: written by the calling thread before the pass, read by every thread during it.
    private Pass _pass;
    private int _batch;
    private int _stride;
    private int _passThreads;
    private float* _inputs;
    private int* _labels;
    private float* _targets;
    private float* _outputs;
    private float* _inputGradient;
    private SgdStep _sgd;
    private float* _singleSampleInput;

    internal CpuPipeline(NetworkArchitecture architecture, CpuKernels<TVector, TOps> kernels, IReadOnlyList<float[]?> masks, CpuEngineOptions options)
    {
        _architecture = architecture;
        _kernels = kernels;
        _options = options;
        _layers = new CpuLayer[architecture.Layers.Length];
        for (int l = 0; l < _layers.Length; l++)
        {
            _layers[l] = new CpuLayer(architecture.Layers[l], masks[l], TOps.Count);
            _trainFlopsPerSample += 6L * architecture.Layers[l].WeightCount;
        }

        // Layer l's output, in whole vectors; the sample itself is read where the caller keeps it.
        _singleSample = new AlignedBuffer[_layers.Length];
        for (int l = 0; l < _layers.Length; l++)
        {
            _singleSample[l] = new AlignedBuffer(CpuLayer.RoundUp(_layers[l].Units, TOps.Count));
        }

        _runPassOnThread = RunPassOnThread;
        _predictOneOnThread = thread => _kernels.Predict(this, thread);
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
    }

    public Backend Backend => Backend.Cpu;

    public string DeviceName => $"CPU ({TOps.Name}{(MultiplyAdds.AreFused ? "" : ", no FMA")}, {_options.Threads} threads)";

    private int Last => _layers.Length - 1;

    public void Predict(ReadOnlySpan<float> inputs, Span<float> outputs, int batch)
    {
        if (batch == 1)
        {
            PredictOne(inputs, outputs);
            return;
        }

        RunPass(Pass.WriteOutputs, inputs, default, default, outputs, default, batch, default);
    }

    public float TrainBatch(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, int batch, SgdStep sgd)
    {
        _nonFinite.AsSpan().Clear();
        RunPass(Pass.Loss | Pass.Update, inputs, labels, targets, default, default, batch, sgd);
        float loss = MeanLoss(batch);
        float nonFinite = 0;
        foreach (float slot in _nonFinite.AsSpan())
        {
            nonFinite += slot;
        }

        if (!float.IsFinite(loss) || nonFinite != 0)
        {
            return float.NaN; // the step's buffers are dropped: parameters and momentum stay as they were
        }

        foreach (CpuLayer layer in _layers)
        {
            layer.Flip();
        }

        return loss;
    }

    public float InputGradient(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, int batch, Span<float> inputGradient)
    {
        RunPass(Pass.Loss | Pass.InputGradient, inputs, labels, targets, default, inputGradient, batch, default);
        return MeanLoss(batch);
    }

    public void Evaluate(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, int batch, Span<float> outputs, Span<float> losses)
    {
        RunPass(Pass.Loss | Pass.WriteOutputs, inputs, labels, targets, outputs, default, batch, default);
        _workspace!.Losses.AsSpan(0, batch).CopyTo(losses);
    }

    public void ReadParameters(Span<float> destination)
    {
        for (int l = 0; l < _layers.Length; l++)
        {
            _layers[l].Write(_layers[l].Weights, _layers[l].Bias, destination[_architecture.WeightOffset(l)..]);
        }
    }

    public void WriteParameters(ReadOnlySpan<float> source)
    {
        for (int l = 0; l < _layers.Length; l++)
        {
            CpuLayer layer = _layers[l];
            layer.Read(source[_architecture.WeightOffset(l)..], layer.Weights, layer.Bias);
            if (layer.Mask is { } mask)
            {
                // The caller promises masked weights are zero; enforcing it here keeps them exactly zero forever.
                Span<float> weights = layer.Weights.AsSpan();
                ReadOnlySpan<float> keep = mask.AsSpan();
                for (int i = 0; i < weights.Length; i++)
                {
                    weights[i] *= keep[i];
                }
            }
        }
    }

    public void ReadMomentum(Span<float> destination)
    {
        for (int l = 0; l < _layers.Length; l++)
        {
            _layers[l].Write(_layers[l].WeightVelocities, _layers[l].BiasVelocities, destination[_architecture.WeightOffset(l)..]);
        }
    }

    public void WriteMomentum(ReadOnlySpan<float> source)
    {
        for (int l = 0; l < _layers.Length; l++)
        {
            _layers[l].Read(source[_architecture.WeightOffset(l)..], _layers[l].WeightVelocities, _layers[l].BiasVelocities);
        }
    }

    public void Dispose()
    {
        _pool?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>A network never disposed still ends its worker threads once it is collected.</summary>
    ~CpuPipeline() => _pool?.Stop();

    // ---- Single-sample prediction: matrix-vector products, no batch machinery. ----

    private void PredictOne(ReadOnlySpan<float> inputs, Span<float> outputs)
    {
        foreach (CpuLayer layer in _layers)
        {
            if (layer.PredictPanelsStale)
            {
                MatrixVector.Pack(layer.Weights.Pointer, layer.WeightStride, layer.Units, layer.Inputs, TOps.Count, layer.PredictPanels.Pointer);
                layer.PredictPanelsStale = false;
            }
        }

        // Large layers split their outputs across the cores, each streaming its share of W. Small ones stay on
        // the caller: hand-offs and barriers cost about a microsecond, and far more when another process holds
        // a core the barrier waits for, a tail no latency-bound caller wants.
        _passThreads = _trainFlopsPerSample / 3 >= _options.ParallelFlops ? _options.Threads : 1;
        fixed (float* input = inputs)
        {
            _singleSampleInput = input;
            if (_passThreads > 1)
            {
                _pool ??= new WorkerPool(_options.Threads);
                _pool.Run(_predictOneOnThread);
            }
            else
            {
                _kernels.Predict(this, 0);
            }

            _singleSampleInput = null;
        }

        _singleSample[^1].AsSpan()[..outputs.Length].CopyTo(outputs);
    }

    /// <summary>
    /// Layer <paramref name="layer"/> for the sample in flight, y = f(W x + b), <paramref name="inputs"/> → <paramref name="units"/>:
    /// this thread's panels of outputs, then a barrier before the next layer reads them. Called by
    /// <see cref="CpuKernels{TVector, TOps}.Predict"/> with constant sizes, which inlining carries into the loops.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void PredictLayer<TActivation>(int thread, int layer, int inputs, int units)
        where TActivation : struct, IActivationKernel
    {
        float* x = layer == 0 ? _singleSampleInput : _singleSample[layer - 1].Pointer;
        (int firstPanel, int endPanel) = Share(MatrixVector.Panels(units, TOps.Count), 1, thread);
        MatrixVector.Forward<TVector, TOps, TActivation>(_layers[layer].PredictPanels.Pointer, _layers[layer].Bias.Pointer, x, _singleSample[layer].Pointer, inputs, units, firstPanel, endPanel);
        if (layer < Last)
        {
            Synchronize();
        }
    }

    // ---- Batched passes ----

    private void RunPass(Pass pass, ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, Span<float> outputs, Span<float> inputGradient, int batch, SgdStep sgd)
    {
        if (_workspace is null || _workspace.Capacity < batch)
        {
            _workspace = new CpuWorkspace(_layers, _architecture.InputSize, batch, TOps.Count);
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
            _batch = batch;
            _stride = CpuLayer.RoundUp(batch, TOps.Count);
            _passThreads = threads;
            _inputs = inputPointer;
            _labels = labelPointer;
            _targets = targetPointer;
            _outputs = outputPointer;
            _inputGradient = inputGradientPointer;
            _sgd = sgd;
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
            _inputs = _targets = _outputs = _inputGradient = null;
            _labels = null;
        }
    }

    private void RunPassOnThread(int thread)
    {
        PrepareInputs(thread);
        Synchronize();
        for (int l = 0; l < _layers.Length; l++)
        {
            Forward(l, thread);
            Synchronize();
        }

        if ((_pass & Pass.WriteOutputs) != 0)
        {
            (int first, int end) = Share(_batch, 1, thread);
            Transposes.Transpose(_workspace!.Activations[Last].Pointer + first, _stride, _outputs + first * _layers[Last].Units, _layers[Last].Units, _layers[Last].Units, end - first);
        }

        if ((_pass & Pass.Loss) != 0)
        {
            Loss(thread);
            Synchronize();
        }

        bool update = (_pass & Pass.Update) != 0, inputGradient = (_pass & Pass.InputGradient) != 0;
        if (!update && !inputGradient)
        {
            return;
        }

        for (int l = Last; l >= 0; l--)
        {
            // Layer l's backward data reads W_l before the next phase updates it; the update of l + 1 is
            // independent of it and shares the phase, and layer 0's update needs only delta_0, ready now.
            if (l > 0 || inputGradient)
            {
                BackwardData(l, thread);
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
            (int first, int end) = Share(_batch, 1, thread);
            int inputSize = _architecture.InputSize;
            Transposes.Transpose(_workspace!.InputGradientColumns.Pointer + first, _stride, _inputGradient + first * inputSize, inputSize, inputSize, end - first);
        }
    }

    private void Synchronize()
    {
        if (_passThreads > 1)
        {
            _pool!.Barrier();
        }
    }

    /// <summary>This thread's share of <paramref name="count"/> items, in whole blocks of <paramref name="block"/>.</summary>
    private (int Start, int End) Share(int count, int block, int thread)
    {
        int blocks = (count + block - 1) / block;
        int start = blocks * thread / _passThreads * block;
        int end = blocks * (thread + 1) / _passThreads * block;
        return (Math.Min(start, count), Math.Min(end, count));
    }

    /// <summary>
    /// This thread's rows of a product. The tile kernel takes a partial tile nearly at full speed, so rows are
    /// shared evenly rather than in whole tiles (which gave one thread 66 rows of 128 and the other 62), in
    /// blocks of 16 where there are enough: the threads' sample-major copies of their rows then write
    /// separate cache lines.
    /// </summary>
    private (int Start, int End) ShareRows(int count, int thread) => Share(count, count >= 16 * _passThreads ? 16 : 1, thread);

    private void PrepareInputs(int thread)
    {
        CpuWorkspace workspace = _workspace!;
        int inputSize = _architecture.InputSize;
        (int first, int end) = Share(inputSize, 1, thread);
        float* columns = workspace.InputColumns.Pointer;
        Transposes.Transpose(_inputs + first, inputSize, columns + first * _stride, _stride, _batch, end - first);
        for (int feature = first; feature < end; feature++)
        {
            // Padding samples are zeros, so they stay finite all the way through the network.
            new Span<float>(columns + feature * _stride + _batch, _stride - _batch).Clear();
        }

        if ((_pass & Pass.Update) != 0 && !workspace.InputsAreRows)
        {
            (int firstSample, int endSample) = Share(_batch, 1, thread);
            nint stride = _layers[0].WeightStride;
            for (int sample = firstSample; sample < endSample; sample++)
            {
                new ReadOnlySpan<float>(_inputs + sample * inputSize, inputSize).CopyTo(new Span<float>(workspace.InputRows.Pointer + sample * stride, inputSize));
            }
        }
    }

    // ---- Layer l forward ----
    // xᵀ: (Inputs, P), W: (Units, WeightStride), zᵀ and yᵀ: (Units, P)

    private void Forward(int l, int thread)
    {
        (int start, int end) = ShareRows(_layers[l].Units, thread);
        _kernels.Forward(this, l, start, end);

        if ((_pass & Pass.Update) != 0 && l < Last && _layers[l + 1].Sparse is null)
        {
            // The dense weight gradient of layer l + 1 reads this layer's output sample by sample.
            CpuWorkspace workspace = _workspace!;
            nint rowStride = _layers[l + 1].WeightStride;
            Transposes.Transpose(workspace.Activations[l].Pointer + start * _stride, _stride, workspace.ActivationRows[l].Pointer + start, rowStride, end - start, _batch);
        }
    }

    /// <summary>Layer <paramref name="l"/>'s forward for output rows [<paramref name="start"/>, <paramref name="end"/>), bias and activation fused.</summary>
    public void ForwardRows<TActivation>(int l, int start, int end)
        where TActivation : struct, IActivationKernel
    {
        CpuLayer layer = _layers[l];
        CpuWorkspace workspace = _workspace!;
        float* input = l == 0 ? workspace.InputColumns.Pointer : workspace.Activations[l - 1].Pointer;
        // z[o, :] = Σ_i W[o, i] xᵀ[i, :]: A = W read along its rows, B = xᵀ.
        var epilogue = new ForwardEpilogue<TActivation>(layer.Bias.Pointer, workspace.PreActivations[l].Pointer, workspace.Activations[l].Pointer, _stride);
        if (layer.Sparse is { } sparse)
        {
            SparseKernel.Product<TVector, TOps, ForwardEpilogue<TActivation>>(
                sparse.RowStarts, sparse.Columns, layer.Weights.Pointer, layer.WeightStride, 1, input, _stride, start, end, _stride / TOps.Count, ref epilogue);
            return;
        }

        var operands = new ProductOperands(layer.Weights.Pointer, layer.WeightStride, 1, input, _stride, layer.Inputs);
        TileKernel.Product<TVector, TOps, ForwardEpilogue<TActivation>>(operands, start, end, _stride / TOps.Count, ref epilogue);
    }

    // ---- Loss: per-sample loss and the last layer's delta ----
    // SoftmaxCrossEntropy: loss = logsumexp(y) - y[label],  dL/dy = (softmax(y) - onehot) / B
    // MeanSquaredError:    loss = mean_o (y - t)^2,          dL/dy = 2 (y - t) / (B · Out)
    // delta = dL/dz = dL/dy ⊙ f'(z, y)

    private void Loss(int thread)
    {
        CpuWorkspace workspace = _workspace!;
        CpuLayer layer = _layers[Last];
        int outputs = layer.Units;
        nint stride = _stride;
        float* z = workspace.PreActivations[Last].Pointer;
        float* y = workspace.Activations[Last].Pointer;
        float* delta = workspace.Deltas[Last].Pointer;
        float batch = _batch;
        (int first, int end) = Share(_batch, 1, thread);
        for (int sample = first; sample < end; sample++)
        {
            float loss;
            if (_architecture.Loss == FusedNets.Loss.SoftmaxCrossEntropy)
            {
                int label = _labels[sample];
                float max = float.NegativeInfinity;
                for (int o = 0; o < outputs; o++)
                {
                    max = MathF.Max(max, y[o * stride + sample]);
                }

                // Each exponential is taken once and parked in delta, which the loop below overwrites.
                float sum = 0;
                for (int o = 0; o < outputs; o++)
                {
                    nint at = o * stride + sample;
                    delta[at] = MathF.Exp(y[at] - max);
                    sum += delta[at];
                }

                loss = max + MathF.Log(sum) - y[label * stride + sample];
                for (int o = 0; o < outputs; o++)
                {
                    nint at = o * stride + sample;
                    float probability = delta[at] / sum;
                    float dLossDy = (probability - (o == label ? 1f : 0f)) / batch;
                    delta[at] = dLossDy * Activations.Derivative(layer.Activation, z[at], y[at]);
                }
            }
            else
            {
                float squares = 0;
                for (int o = 0; o < outputs; o++)
                {
                    nint at = o * stride + sample;
                    float difference = y[at] - _targets[sample * outputs + o];
                    squares += difference * difference;
                    float dLossDy = 2f * difference / (batch * outputs);
                    delta[at] = dLossDy * Activations.Derivative(layer.Activation, z[at], y[at]);
                }

                loss = squares / outputs;
            }

            workspace.Losses[sample] = loss;
        }

        if (thread == _passThreads - 1)
        {
            for (int o = 0; o < outputs; o++)
            {
                new Span<float>(delta + o * stride + _batch, _stride - _batch).Clear();
            }
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

    // ---- Layer l backward data ----
    // Forward: z_l = W_l x_l + b_l with x_l = f(z_{l-1}).
    // dL/dx_l = W_lᵀ delta_l;  delta_{l-1} = dL/dx_l ⊙ f'(z_{l-1}, y_{l-1}).  dxᵀ: (Inputs, P)

    private void BackwardData(int l, int thread)
    {
        (int start, int end) = ShareRows(_layers[l].Inputs, thread);
        _kernels.Backward(this, l, start, end);
    }

    /// <summary>Layer 0's backward data for input rows [<paramref name="start"/>, <paramref name="end"/>): the loss's gradient with respect to the inputs.</summary>
    public void BackwardToInputs(int start, int end)
    {
        var epilogue = new StoreEpilogue(_workspace!.InputGradientColumns.Pointer, _stride);
        BackwardProduct(0, start, end, ref epilogue);
    }

    // dxᵀ[i, :] = Σ_o W[o, i] deltaᵀ[o, :]: A = W read down its columns, B = deltaᵀ.
    private void BackwardProduct<TEpilogue>(int l, int start, int end, ref TEpilogue epilogue)
        where TEpilogue : struct, ITileEpilogue
    {
        CpuLayer layer = _layers[l];
        float* delta = _workspace!.Deltas[l].Pointer;
        if (layer.Sparse is { } sparse)
        {
            SparseKernel.Product<TVector, TOps, TEpilogue>(
                sparse.ColumnStarts, sparse.Rows, layer.Weights.Pointer, 1, layer.WeightStride, delta, _stride, start, end, _stride / TOps.Count, ref epilogue);
            return;
        }

        var operands = new ProductOperands(layer.Weights.Pointer, 1, layer.WeightStride, delta, _stride, layer.Units);
        TileKernel.Product<TVector, TOps, TEpilogue>(operands, start, end, _stride / TOps.Count, ref epilogue);
    }

    /// <summary>
    /// Layer <paramref name="l"/>'s backward data for input rows [<paramref name="start"/>, <paramref name="end"/>), fused with
    /// the derivative of the layer below's activation <typeparamref name="TBelow"/>: the layer below's delta.
    /// </summary>
    public void BackwardRows<TBelow>(int l, int start, int end)
        where TBelow : struct, IActivationKernel
    {
        CpuWorkspace workspace = _workspace!;
        var epilogue = new BackwardEpilogue<TBelow>(workspace.PreActivations[l - 1].Pointer, workspace.Activations[l - 1].Pointer, workspace.Deltas[l - 1].Pointer, _stride);
        BackwardProduct(l, start, end, ref epilogue);
    }

    // ---- Layer l weight gradient and SGD step ----
    // Forward: z_l = W_l x_l + b_l.  dW_l = delta_lᵀ x_l (summed over the batch),  db_l = Σ_b delta_l
    // dW: (Units, WeightStride), consumed tile by tile by the update; x_l sample-major (batch, WeightStride).

    private void Update(int l, int thread)
    {
        CpuLayer layer = _layers[l];
        CpuWorkspace workspace = _workspace!;
        (int start, int end) = ShareRows(layer.Units, thread);
        float* delta = workspace.Deltas[l].Pointer;
        if (layer.Sparse is { } sparse)
        {
            UpdateSparse(layer, sparse, l == 0 ? workspace.InputColumns.Pointer : workspace.Activations[l - 1].Pointer, delta, start, end, thread);
        }
        else
        {
            float* inputRows = workspace.InputsAreRows ? _inputs : workspace.InputRows.Pointer;
            UpdateDense(layer, l == 0 ? inputRows : workspace.ActivationRows[l - 1].Pointer, delta, start, end, thread);
        }

        float* bias = layer.Bias.Pointer, nextBias = layer.NextBias.Pointer;
        float* velocities = layer.BiasVelocities.Pointer, nextVelocities = layer.NextBiasVelocities.Pointer;
        float nonFinite = 0;
        for (int o = start; o < end; o++)
        {
            float gradient = SumFirst(delta + o * _stride, _batch);
            float velocity = velocities[o];
            nextBias[o] = _sgd.UpdateBias(bias[o], ref velocity, gradient);
            nextVelocities[o] = velocity;
            nonFinite += nextBias[o] * 0 + velocity * 0;
        }

        *NonFiniteSlot(thread) += nonFinite;
    }

    private float* NonFiniteSlot(int thread) => _nonFinite.Pointer + thread * NonFiniteSlotFloats;

    private void UpdateDense(CpuLayer layer, float* input, float* delta, int start, int end, int thread)
    {
        // dW[o, i] = Σ_b deltaᵀ[o, b] x[b, i]: A = deltaᵀ read along its rows, B = x, depth = the batch.
        var operands = new ProductOperands(delta, _stride, 1, input, layer.WeightStride, _batch);
        var epilogue = new UpdateEpilogue(
            layer.Weights.Pointer,
            layer.WeightVelocities.Pointer,
            layer.NextWeights.Pointer,
            layer.NextWeightVelocities.Pointer,
            layer.Mask is null ? null : layer.Mask.Pointer,
            NonFiniteSlot(thread),
            layer.WeightStride,
            _sgd,
            _workspace!.StreamingUpdates);
        TileKernel.ProductByRows<TVector, TOps, UpdateEpilogue>(operands, start, end, layer.WeightStride / TOps.Count, ref epilogue);
        if (_workspace!.StreamingUpdates && Sse.IsSupported)
        {
            Sse.StoreFence(); // streaming stores are weakly ordered: make them visible before the barrier releases the readers
        }
    }

    /// <summary>
    /// dW[o, i] = Σ_b deltaᵀ[o, b] xᵀ[i, b] for kept weights only, each a dot product of two feature-major
    /// rows, then the scalar SGD rule. Masked weights are never visited, so they stay exactly zero in both buffers.
    /// </summary>
    private void UpdateSparse(CpuLayer layer, SparseStructure sparse, float* inputColumns, float* delta, int start, int end, int thread)
    {
        float* weights = layer.Weights.Pointer, nextWeights = layer.NextWeights.Pointer;
        float* velocities = layer.WeightVelocities.Pointer, nextVelocities = layer.NextWeightVelocities.Pointer;
        float nonFinite = 0;
        for (int o = start; o < end; o++)
        {
            float* deltaRow = delta + o * _stride;
            for (int k = sparse.RowStarts[o]; k < sparse.RowStarts[o + 1]; k++)
            {
                int i = sparse.Columns[k];
                float gradient = Dot(deltaRow, inputColumns + i * _stride, _batch);
                nint at = o * layer.WeightStride + i;
                float velocity = velocities[at];
                nextWeights[at] = _sgd.UpdateWeight(weights[at], ref velocity, gradient);
                nextVelocities[at] = velocity;
                nonFinite += nextWeights[at] * 0 + velocity * 0;
            }
        }

        *NonFiniteSlot(thread) += nonFinite;
    }

    /// <summary>Σ a[j] b[j] over the first <paramref name="count"/> floats: whole vectors, then the remainder.</summary>
    private static float Dot(float* a, float* b, int count)
    {
        int width = TOps.Count;
        TVector sums = default;
        int j = 0;
        for (; j + width <= count; j += width)
        {
            sums = TOps.MultiplyAdd(TOps.Load(a + j), TOps.Load(b + j), sums);
        }

        float sum = TOps.Sum(sums);
        for (; j < count; j++)
        {
            sum += a[j] * b[j];
        }

        return sum;
    }

    /// <summary>The sum of the first <paramref name="count"/> floats: whole vectors, then the remainder.</summary>
    private static float SumFirst(float* values, int count)
    {
        int width = TOps.Count;
        TVector sums = default;
        int i = 0;
        for (; i + width <= count; i += width)
        {
            sums = TOps.Add(sums, TOps.Load(values + i));
        }

        float sum = TOps.Sum(sums);
        for (; i < count; i++)
        {
            sum += values[i];
        }

        return sum;
    }
}
