using System.Runtime.ExceptionServices;
using System.Runtime.Intrinsics.X86;
using FusedNets.Generated;

namespace FusedNets.Backends.Cpu;

/// <summary>
/// Physics-informed training on the CPU engine (docs/pde.md): every term's points carried through the network with u's
/// derivatives, as extra columns of the same register-blocked products the engine trains with (<see cref="PdeColumns"/>),
/// the activation across channels in between (<see cref="PdeActivation"/>), the terms' residuals evaluated with their
/// exact derivatives, then the adjoint of it all back to the weights, whose gradient goes straight from the product's
/// registers into the optimizer step as in ordinary training. It trains the pipeline's own parameters and momentum.
/// </summary>
/// <remarks>
/// Phases of a pass, each splitting its outputs over the threads by index (the pipeline's pool), so that every value is
/// one fixed chain of operations and results do not depend on the thread count:
/// <code>
///   input       the points, transposed to feature-major columns; and as rows for the first weight gradient
///   forward l   z_l = W_l y_(l−1) over every column (+ b on the value columns); the activation across channels;
///               y_l transposed into the rows layer l + 1's weight gradient reads
///   loss        each term's residual at each of its points: r², and the seeds 2 w r ∂r/∂channel / n of the output's
///               channels; the output activation's backward
///   backward l  dy_(l−1) = W_lᵀ dz_l over every column, then the activation's backward into dz_(l−1); layer l's weight
///               gradient dz_l y_(l−1)ᵀ fused with its update (or stored, for L-BFGS)
///   layer 0     its weight gradient: dz y over the value columns, plus the sums of dz over each ∂/∂x_i block
/// </code>
/// Buffers are laid out for a batch's point counts and kept while they stay the same: a step allocates nothing.
/// </remarks>
internal sealed unsafe class PdeCpuEngine<TVector, TOps> : IPdeEngine
    where TVector : unmanaged
    where TOps : IVectorOps<TVector>
{
    private readonly CpuPipeline<TVector, TOps> _cpu;
    private readonly PdeProgram _program;
    private readonly NetworkArchitecture _architecture;
    private readonly CpuWeights[] _weights;
    private readonly Action<int> _runOnThread;
    private readonly ThreadState[] _threads;
    private readonly AlignedBuffer[] _weightGradients;
    private readonly float[][] _biasGradients;

    // Laid out for the point counts of the batch last run (see Layout).
    private PdeBatch? _laidOutFor;
    private int _laidOutShape;
    private PdeColumns _columns = null!;
    private AlignedBuffer _inputColumns = null!;
    private AlignedBuffer _inputRows = null!;
    private AlignedBuffer[] _z = [];
    private AlignedBuffer[] _y = [];
    private AlignedBuffer[] _adjoints = [];
    private AlignedBuffer[] _rows = [];
    private AlignedBuffer _firstLayerSums = null!;
    private float[][] _sampleLosses = [];
    private long _flops;

    // The pass in flight: written by the calling thread before the pass, read by every thread during it.
    private PdeBatch _batch = null!;
    private Pass _pass;
    private ExceptionDispatchInfo? _failure;

    public PdeCpuEngine(CpuPipeline<TVector, TOps> cpu, PdeProgram program)
    {
        _cpu = cpu;
        _program = program;
        _architecture = cpu.Architecture;
        if (_architecture.Layers.Any(layer => layer is not DenseLayerArchitecture) || _architecture.OutputSize != 1)
        {
            throw new NotSupportedException($"Network '{_architecture.Name}' is not a stack of dense layers with one output, so it cannot be trained on a residual.");
        }

        _weights = [.. cpu.Layers.Select(layer => layer.Weights!)];
        _runOnThread = RunOnThread;
        _threads = [.. Enumerable.Range(0, cpu.MaxThreads).Select(_ => new ThreadState(_architecture.InputSize, program))];
        _weightGradients = [.. _weights.Select(weights => new AlignedBuffer((long)weights.Units * weights.WeightStride))];
        _biasGradients = [.. _weights.Select(weights => new float[weights.Units])];
    }

    private enum Pass
    {
        Forward,
        Loss,
        Gradient,
        Update,
    }

    private int Last => _weights.Length - 1;

    private int Inputs => _architecture.InputSize;

    public float TrainStep(PdeBatch batch, OptimizerStep step, Span<double> termLosses)
    {
        _cpu.PrepareUpdates(step);
        Run(batch, Pass.Update, step);
        float loss = Losses(termLosses);
        if (!float.IsFinite(loss) || !_cpu.UpdatesFinite())
        {
            return float.NaN; // the step's buffers are dropped: parameters and optimizer state stay as they were
        }

        _cpu.FlipWeights(step);
        return loss;
    }

    public float Gradient(PdeBatch batch, Span<float> gradient, Span<double> termLosses)
    {
        Run(batch, Pass.Gradient, default(SgdStep));
        for (int l = 0; l < _weights.Length; l++)
        {
            CpuWeights weights = _weights[l];
            Span<float> flat = gradient[_architecture.ParameterOffset(l)..];
            for (int o = 0; o < weights.Units; o++)
            {
                float* row = _weightGradients[l].Pointer + (long)o * weights.WeightStride;
                float* mask = weights.Mask is null ? null : weights.Mask.Pointer + (long)o * weights.WeightStride;
                for (int i = 0; i < weights.Inputs; i++)
                {
                    // A masked weight is a constant zero, not a parameter: it has no gradient.
                    flat[o * weights.Inputs + i] = mask == null ? row[i] : row[i] * mask[i];
                }
            }

            _biasGradients[l].AsSpan().CopyTo(flat.Slice(weights.Units * weights.Inputs, weights.Units));
        }

        return Losses(termLosses);
    }

    public float Loss(PdeBatch batch, Span<double> termLosses)
    {
        Run(batch, Pass.Loss, default(SgdStep));
        return Losses(termLosses);
    }

    public void Derivatives(PdeBatch batch, int term, Span<float> values, Span<float> firstDerivatives, Span<float> secondDerivatives)
    {
        Run(batch, Pass.Forward, default(SgdStep));
        TermColumns columns = _columns.Terms[term];
        float* y = _y[Last].Pointer;
        for (int s = 0; s < columns.Count; s++)
        {
            values[s] = y[columns.Value + s];
            for (int i = 0; i < columns.FirstDerivatives; i++)
            {
                firstDerivatives[s * columns.FirstDerivatives + i] = y[columns.First(i) + s];
            }

            for (int k = 0; k < columns.SecondDerivatives; k++)
            {
                secondDerivatives[s * columns.SecondDerivatives + k] = y[columns.Second(k) + s];
            }
        }
    }

    private void Run(PdeBatch batch, Pass pass, OptimizerStep step)
    {
        Layout(batch);
        _batch = batch;
        _pass = pass;
        _failure = null;
        long flops = pass >= Pass.Gradient ? _flops : _flops / 3;
        _cpu.RunPde(_runOnThread, flops, step);
        _failure?.Throw();
    }

    /// <summary>Σ_t weight_t · mean of r² over term t, each mean into <paramref name="termLosses"/>; summed in point order.</summary>
    private float Losses(Span<double> termLosses)
    {
        double total = 0;
        for (int t = 0; t < _columns.Terms.Length; t++)
        {
            double sum = 0;
            foreach (float loss in _sampleLosses[t].AsSpan(0, _columns.Terms[t].Count))
            {
                sum += loss;
            }

            termLosses[t] = sum / _columns.Terms[t].Count;
            total += _batch.Weight(t) * termLosses[t];
        }

        return (float)total;
    }

    private void RunOnThread(int thread)
    {
        PrepareInputs(thread);
        _cpu.SynchronizePde();
        for (int l = 0; l < _weights.Length; l++)
        {
            var forward = new ForwardVisitor(this, l, thread);
            Activations.Dispatch(_architecture.Layers[l].Activation, ref forward);
            _cpu.SynchronizePde();
        }

        if (_pass == Pass.Forward)
        {
            return;
        }

        EvaluateTerms(thread);
        _cpu.SynchronizePde();
        if (_pass == Pass.Loss)
        {
            return;
        }

        for (int l = Last; l > 0; l--)
        {
            var backward = new BackwardVisitor(this, l, thread);
            Activations.Dispatch(_architecture.Layers[l - 1].Activation, ref backward);
            ParameterGradient(l, thread);
            _cpu.SynchronizePde();
        }

        ParameterGradient(0, thread);
    }

    // ---- Input ----
    // points: (n_t, d) per term → input columns (d, value columns), and input rows (value columns, stride of W_0).

    private void PrepareInputs(int thread)
    {
        int inputs = Inputs, valueColumns = _columns.ValueColumns;
        (int firstFeature, int endFeature) = _cpu.Share(inputs, 1, thread);
        nint rowStride = _weights[0].WeightStride;
        for (int t = 0; t < _columns.Terms.Length; t++)
        {
            TermColumns term = _columns.Terms[t];
            fixed (float* points = _batch.Points(t))
            {
                Transposes.Transpose(points + firstFeature, inputs, _inputColumns.Pointer + (long)firstFeature * valueColumns + term.Value, valueColumns, term.Count, endFeature - firstFeature);
                for (int feature = firstFeature; feature < endFeature; feature++)
                {
                    // Padding points are zeros, so they stay finite through every layer; their seeds are zero.
                    new Span<float>(_inputColumns.Pointer + (long)feature * valueColumns + term.Value + term.Count, term.Padded - term.Count).Clear();
                }

                if (_pass >= Pass.Gradient)
                {
                    (int first, int end) = _cpu.Share(term.Count, 1, thread);
                    for (int s = first; s < end; s++)
                    {
                        new ReadOnlySpan<float>(points + s * inputs, inputs).CopyTo(new Span<float>(_inputRows.Pointer + (term.Value + s) * rowStride, inputs));
                    }
                }
            }
        }
    }

    // ---- Forward ----
    // z_l: (Units, Columns) = W_l (Units, Inputs) · y_(l−1) (Inputs, Columns), + b on the value columns; y_l = f(z_l) across channels.
    // The first layer multiplies the value columns alone: its derivative channels are W's columns and zeros.

    private void Forward<TActivation>(int l, int thread)
        where TActivation : struct, IActivationKernel
    {
        CpuWeights weights = _weights[l];
        (int start, int end) = _cpu.ShareRows(weights.Units, thread);
        int columns = _columns.Columns, valueColumns = _columns.ValueColumns, width = TOps.Count;
        float* z = _z[l].Pointer, y = _y[l].Pointer;
        float* below = l == 0 ? _inputColumns.Pointer : _y[l - 1].Pointer;
        nint belowStride = l == 0 ? valueColumns : columns;
        var values = new BiasStoreEpilogue(weights.Bias.Pointer, z, columns);
        var operands = new ProductOperands(weights.Weights.Pointer, weights.WeightStride, 1, below, belowStride, weights.Inputs);
        TileKernel.Product<TVector, TOps, BiasStoreEpilogue>(operands, start, end, valueColumns / width, ref values);
        if (l > 0 && _columns.HasDerivatives)
        {
            var derivatives = new StoreEpilogue(z + valueColumns, columns);
            var derivativeOperands = new ProductOperands(weights.Weights.Pointer, weights.WeightStride, 1, below + valueColumns, columns, weights.Inputs);
            TileKernel.Product<TVector, TOps, StoreEpilogue>(derivativeOperands, start, end, (columns - valueColumns) / width, ref derivatives);
        }

        float* scratch = _threads[thread].Scratch.Pointer;
        for (int o = start; o < end; o++)
        {
            float* firstWeights = l == 0 ? weights.Weights.Pointer + (long)o * weights.WeightStride : null;
            foreach (TermColumns term in _columns.Terms)
            {
                PdeActivation.Forward<TVector, TOps, TActivation>(term, z + (long)o * columns, y + (long)o * columns, firstWeights, scratch);
            }
        }

        if (_pass >= Pass.Gradient && l < Last)
        {
            // The rows of y_l that this thread wrote, into the sample-major copy layer l + 1's weight gradient reads.
            Transposes.Transpose(y + (long)start * columns, columns, _rows[l + 1].Pointer + start, _weights[l + 1].WeightStride, end - start, columns);
        }
    }

    // ---- Loss ----
    // Each point's residual r from u's channels; r² into the point's loss; dL/dchannel = 2 weight r ∂r/∂channel / n into
    // the output's adjoint; then the output activation's backward, for this thread's points.

    private void EvaluateTerms(int thread)
    {
        float* y = _y[Last].Pointer, seeds = _adjoints[Last].Pointer;
        ThreadState state = _threads[thread];
        for (int t = 0; t < _columns.Terms.Length; t++)
        {
            TermColumns term = _columns.Terms[t];
            (int first, int end) = _cpu.Share(term.Count, TOps.Count, thread);
            if (first >= end)
            {
                continue;
            }

            float scale = 2 * _batch.Weight(t) / term.Count;
            try
            {
                var outputs = new ReadOnlySpan<float>(y, _columns.Columns);
                var outputSeeds = new Span<float>(seeds, _columns.Columns);
                for (int s = first; s < end; s++)
                {
                    _sampleLosses[t][s] = PdeResidual.Evaluate(_batch, t, term, s, outputs, outputSeeds, scale, state.Residual);
                }
            }
            catch (Exception exception)
            {
                // The user's method threw: keep to the barriers, let the caller rethrow, and change nothing.
                Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(exception), null);
            }

            int vectorEnd = CpuLayout.RoundUp(end, TOps.Count);
            if (end == term.Count)
            {
                for (int c = 0; c < term.Channels; c++)
                {
                    int column = c == 0 ? term.Value : term.Derivatives + (c - 1) * term.Padded;
                    new Span<float>(seeds + column + term.Count, term.Padded - term.Count).Clear();
                }
            }

            var output = new OutputVisitor(this, term, thread, first, vectorEnd);
            Activations.Dispatch(_architecture.Layers[Last].Activation, ref output);
        }
    }

    private void OutputBackward<TActivation>(TermColumns term, int thread, int start, int end)
        where TActivation : struct, IActivationKernel
    {
        float* firstWeights = Last == 0 ? _weights[0].Weights.Pointer : null;
        PdeActivation.Backward<TVector, TOps, TActivation>(term, _z[Last].Pointer, _y[Last].Pointer, _adjoints[Last].Pointer, firstWeights, _threads[thread].Scratch.Pointer, start, end);
    }

    // ---- Backward ----
    // From z_l = W_l y_(l−1):  dy_(l−1) (Inputs, Columns) = W_lᵀ dz_l (Units, Columns), every channel at once; then the
    // activation of layer l − 1 backward, in place, into dz_(l−1).

    private void Backward<TBelow>(int l, int thread)
        where TBelow : struct, IActivationKernel
    {
        CpuWeights weights = _weights[l];
        (int start, int end) = _cpu.ShareRows(weights.Inputs, thread);
        int columns = _columns.Columns;
        float* belowAdjoints = _adjoints[l - 1].Pointer;
        var store = new StoreEpilogue(belowAdjoints, columns);
        var operands = new ProductOperands(weights.Weights.Pointer, 1, weights.WeightStride, _adjoints[l].Pointer, columns, weights.Units);
        TileKernel.Product<TVector, TOps, StoreEpilogue>(operands, start, end, columns / TOps.Count, ref store);

        float* z = _z[l - 1].Pointer, y = _y[l - 1].Pointer, scratch = _threads[thread].Scratch.Pointer;
        CpuWeights below = _weights[l - 1];
        for (int o = start; o < end; o++)
        {
            float* firstWeights = l - 1 == 0 ? below.Weights.Pointer + (long)o * below.WeightStride : null;
            long row = (long)o * columns;
            foreach (TermColumns term in _columns.Terms)
            {
                PdeActivation.Backward<TVector, TOps, TBelow>(term, z + row, y + row, belowAdjoints + row, firstWeights, scratch, 0, term.Padded);
            }
        }
    }

    // ---- Weight gradients ----
    // dW_l = Σ over every column of dz_l y_(l−1)ᵀ, db_l = Σ over the value columns of dz_l. The first layer's y_(−1) is x on
    // the value columns and e_i on the ∂/∂x_i columns: dW_0 = dz_0 xᵀ over the value columns, plus Σ of dz_0 over each
    // ∂/∂x_i block in column i.

    private void ParameterGradient(int l, int thread)
    {
        if (_pass == Pass.Update)
        {
            // The rule as its own type, so that the update epilogue inlines it (Adam keeps a second moment, SGD does not).
            OptimizerStep step = _cpu.Step;
            if (step.HasSecondMoment)
            {
                Update(l, thread, step.Adam);
            }
            else
            {
                Update(l, thread, step.Sgd);
            }

            return;
        }

        CpuWeights weights = _weights[l];
        (int start, int end) = _cpu.ShareRows(weights.Units, thread);
        int columns = _columns.Columns, valueColumns = _columns.ValueColumns;
        float* adjoints = _adjoints[l].Pointer;
        if (l > 0)
        {
            var store = new StoreEpilogue(_weightGradients[l].Pointer, weights.WeightStride);
            TileKernel.ProductByRows<TVector, TOps, StoreEpilogue>(
                new ProductOperands(adjoints, columns, 1, _rows[l].Pointer, weights.WeightStride, columns), start, end, weights.WeightStride / TOps.Count, ref store);
            StoreBiasGradient(l, adjoints, start, end);
            return;
        }

        nint stride = FirstLayerSums(weights, adjoints, start, end);
        var operands = new ProductOperands(adjoints, columns, 1, _inputRows.Pointer, stride, valueColumns);
        var gradient = new AddMatrixEpilogue<StoreEpilogue>(_firstLayerSums.Pointer, stride, new StoreEpilogue(_weightGradients[0].Pointer, stride));
        TileKernel.ProductByRows<TVector, TOps, AddMatrixEpilogue<StoreEpilogue>>(operands, start, end, (int)stride / TOps.Count, ref gradient);
        StoreBiasGradient(0, adjoints, start, end);
    }

    /// <summary>The weight gradient of layer <paramref name="l"/> fused with <paramref name="rule"/>'s update, then the bias's.</summary>
    private void Update<TRule>(int l, int thread, in TRule rule)
        where TRule : struct, IUpdateRule
    {
        CpuWeights weights = _weights[l];
        (int start, int end) = _cpu.ShareRows(weights.Units, thread);
        int columns = _columns.Columns, valueColumns = _columns.ValueColumns;
        float* adjoints = _adjoints[l].Pointer;
        if (l > 0)
        {
            CpuUpdates.Dense(_cpu, weights, rule, adjoints, columns, _rows[l].Pointer, columns, start, end, thread);
            CpuUpdates.Bias(_cpu, weights, rule, adjoints, columns, valueColumns, start, end, thread);
            return;
        }

        nint stride = FirstLayerSums(weights, adjoints, start, end);
        var operands = new ProductOperands(adjoints, columns, 1, _inputRows.Pointer, stride, valueColumns);
        var update = new AddMatrixEpilogue<UpdateEpilogue<TRule>>(_firstLayerSums.Pointer, stride, new UpdateEpilogue<TRule>(weights, _cpu.NonFiniteSlot(thread), rule, _cpu.StreamingUpdates));
        TileKernel.ProductByRows<TVector, TOps, AddMatrixEpilogue<UpdateEpilogue<TRule>>>(operands, start, end, (int)stride / TOps.Count, ref update);
        if (_cpu.StreamingUpdates && Sse.IsSupported)
        {
            Sse.StoreFence(); // streaming stores are weakly ordered: make them visible before the barrier releases the readers
        }

        CpuUpdates.Bias(_cpu, weights, rule, adjoints, columns, valueColumns, start, end, thread);
    }

    /// <summary>
    /// The first layer's derivative-column part of dW_0 for rows [start, end): Σ over the ∂/∂x_i blocks of dz_0, into
    /// column i of the sums the value-column product then adds to. Returns the stride of W_0.
    /// </summary>
    private nint FirstLayerSums(CpuWeights weights, float* adjoints, int start, int end)
    {
        float* sums = _firstLayerSums.Pointer;
        nint stride = weights.WeightStride;
        for (int o = start; o < end; o++)
        {
            for (int i = 0; i < Inputs; i++)
            {
                float sum = 0;
                foreach (TermColumns term in _columns.Terms)
                {
                    if (term.FirstDerivatives > 0)
                    {
                        sum += CpuUpdates.SumFirst<TVector, TOps>(adjoints + (long)o * _columns.Columns + term.First(i), term.Padded);
                    }
                }

                sums[o * stride + i] = sum;
            }
        }

        return stride;
    }

    private void StoreBiasGradient(int l, float* adjoints, int start, int end)
    {
        for (int o = start; o < end; o++)
        {
            _biasGradients[l][o] = CpuUpdates.SumFirst<TVector, TOps>(adjoints + (long)o * _columns.Columns, _columns.ValueColumns);
        }
    }

    // ---- Buffers ----

    /// <summary>Lays the buffers out for <paramref name="batch"/>'s point counts, unless they already are.</summary>
    private void Layout(PdeBatch batch)
    {
        if (!ReferenceEquals(batch, _laidOutFor) || batch.Shape != _laidOutShape)
        {
            // Apart, so that the closures below are not allocated on the way past: C# creates them on entering the method.
            LayOut(batch);
        }
    }

    private void LayOut(PdeBatch batch)
    {
        _columns = new PdeColumns(batch, TOps.Count);
        int columns = _columns.Columns, valueColumns = _columns.ValueColumns;
        _inputColumns = new AlignedBuffer((long)Inputs * valueColumns);
        _inputRows = new AlignedBuffer((long)valueColumns * _weights[0].WeightStride);
        _z = [.. _weights.Select(weights => new AlignedBuffer((long)weights.Units * columns))];
        _y = [.. _weights.Select(weights => new AlignedBuffer((long)weights.Units * columns))];
        _adjoints = [.. _weights.Select(weights => new AlignedBuffer((long)weights.Units * columns))];
        _rows = [.. _weights.Select((weights, l) => new AlignedBuffer(l == 0 ? 0 : (long)columns * weights.WeightStride))];
        _firstLayerSums = new AlignedBuffer((long)_weights[0].Units * _weights[0].WeightStride);
        _sampleLosses = [.. _columns.Terms.Select(term => new float[term.Count])];
        foreach (ThreadState state in _threads)
        {
            state.Scratch = new AlignedBuffer(PdeActivation.ScratchFloats(_columns.MaxPadded));
        }

        // Multiply-adds: the first layer over the value columns, the others over every column; a training pass three times that.
        _flops = 3 * 2 * _weights.Select((weights, l) => (long)weights.Units * weights.Inputs * (l == 0 ? valueColumns : columns)).Sum();
        _laidOutFor = batch;
        _laidOutShape = batch.Shape;
    }

    /// <summary>One thread's scratch: the activation passes' rows, and the residual's arguments and partial derivatives.</summary>
    private sealed class ThreadState(int inputs, PdeProgram program)
    {
        public AlignedBuffer Scratch { get; set; } = new(0);

        public PdeResidual.Scratch Residual { get; } = new(inputs, program);
    }

    private readonly struct ForwardVisitor(PdeCpuEngine<TVector, TOps> engine, int layer, int thread) : IActivationVisitor
    {
        public void Visit<TActivation>()
            where TActivation : struct, IActivationKernel => engine.Forward<TActivation>(layer, thread);
    }

    private readonly struct BackwardVisitor(PdeCpuEngine<TVector, TOps> engine, int layer, int thread) : IActivationVisitor
    {
        public void Visit<TBelow>()
            where TBelow : struct, IActivationKernel => engine.Backward<TBelow>(layer, thread);
    }

    private readonly struct OutputVisitor(PdeCpuEngine<TVector, TOps> engine, TermColumns term, int thread, int start, int end) : IActivationVisitor
    {
        public void Visit<TActivation>()
            where TActivation : struct, IActivationKernel => engine.OutputBackward<TActivation>(term, thread, start, end);
    }
}
