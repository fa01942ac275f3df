using FusedNets.Backends;
using FusedNets.Backends.Cpu;
using FusedNets.Generated;
using ILGPU;
using ILGPU.Runtime;
using View = ILGPU.ArrayView<float>;

namespace FusedNets.Gpu;

/// <summary>
/// Physics-informed training on an ILGPU accelerator (docs/pde.md), on the engine's own parameters and optimizer state. The
/// points and every layer's channels stay on the device: each layer is the dense product over every channel's rows and
/// the activation across channels; backward, the transposed product and the activation's adjoint; then the weight
/// gradients and the step. The terms' residuals are the one part that runs on the host: they are the user's C#, written
/// over spans, which GPU kernels cannot take. A pass therefore reads back u's channels (one float per point and
/// channel) and sends their seeds down; everything that scales with the network stays on the device.
/// </summary>
internal sealed class IlgpuPdeEngine : IPdeEngine, IDisposable
{
    private readonly IlgpuEngine _engine;
    private readonly Accelerator _accelerator;
    private readonly IlgpuWorkspace _workspace;
    private readonly NetworkArchitecture _architecture;
    private readonly IlgpuPdeProgram _kernels;
    private readonly PdeResidual.Scratch _scratch;
    private readonly List<MemoryBuffer> _buffers = [];
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _gradient;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _zeros;

    private PdeBatch? _laidOutFor;
    private int _laidOutShape;
    private PdeColumns _columns = null!;
    private PdeTermShape[] _shapes = [];
    private ArrayView<int>[] _secondInputs = [];
    private ArrayView<int> _firstDerivativeBlocks;
    private int _blockCount;
    private View _points;
    private View[] _z = [], _y = [], _adjoints = [];
    private float[] _hostPoints = [], _output = [], _seeds = [];
    private float[][] _sampleLosses = [];

    public IlgpuPdeEngine(IlgpuEngine engine, Accelerator accelerator, IlgpuWorkspace workspace, NetworkArchitecture architecture, IReadOnlyList<float[]?> masks, PdeProgram program)
    {
        if (architecture.Layers.Any(layer => layer is not DenseLayerArchitecture) || architecture.OutputSize != 1)
        {
            throw new NotSupportedException($"Network '{architecture.Name}' is not a stack of dense layers with one output, so it cannot be trained on a residual.");
        }

        _engine = engine;
        _accelerator = accelerator;
        _workspace = workspace;
        _architecture = architecture;
        _kernels = new IlgpuPdeProgram(KernelLibrary.On(accelerator), architecture, masks);
        _scratch = new PdeResidual.Scratch(architecture.InputSize, program);
        _gradient = accelerator.Allocate1D<float>(architecture.ParameterCount);
        _zeros = accelerator.Allocate1D<float>(architecture.Layers.Max(layer => layer.Units));
        _zeros.MemSetToZero();
    }

    private enum Pass
    {
        Forward,
        Loss,
        Gradient,
        Update,
    }

    private int Last => _architecture.Layers.Length - 1;

    public float TrainStep(PdeBatch batch, OptimizerStep step, Span<double> termLosses)
    {
        // A status left set by an earlier failed pass would keep the snapshot from being taken.
        _workspace.Status.MemSetToZero();
        _engine.SnapshotParameters(step);
        Run(batch, Pass.Update, step);
        float loss = Losses(batch, termLosses);
        bool failed = _engine.RestoreIfStepFailed(step);
        if (!float.IsFinite(loss))
        {
            _engine.RestoreSnapshot(step);
            return float.NaN;
        }

        return failed ? float.NaN : loss;
    }

    public float Gradient(PdeBatch batch, Span<float> gradient, Span<double> termLosses)
    {
        Run(batch, Pass.Gradient, default);
        View all = _gradient.View;
        all.CopyToCPU(gradient[.._architecture.ParameterCount]);
        return Losses(batch, termLosses);
    }

    public float Loss(PdeBatch batch, Span<double> termLosses)
    {
        Run(batch, Pass.Loss, default);
        return Losses(batch, termLosses);
    }

    public void Derivatives(PdeBatch batch, int term, Span<float> values, Span<float> firstDerivatives, Span<float> secondDerivatives)
    {
        Run(batch, Pass.Forward, default);
        TermColumns columns = _columns.Terms[term];
        for (int s = 0; s < columns.Count; s++)
        {
            values[s] = _output[columns.Value + s];
            for (int i = 0; i < columns.FirstDerivatives; i++)
            {
                firstDerivatives[s * columns.FirstDerivatives + i] = _output[columns.First(i) + s];
            }

            for (int k = 0; k < columns.SecondDerivatives; k++)
            {
                secondDerivatives[s * columns.SecondDerivatives + k] = _output[columns.Second(k) + s];
            }
        }
    }

    public void Dispose()
    {
        foreach (MemoryBuffer buffer in _buffers)
        {
            buffer.Dispose();
        }

        _gradient.Dispose();
        _zeros.Dispose();
    }

    private void Run(PdeBatch batch, Pass pass, OptimizerStep step)
    {
        Layout(batch);
        AcceleratorStream stream = _workspace.Stream;
        ArrayView<int> status = _workspace.Status;
        status.MemSetToZero();
        UploadPoints(batch);
        Forward(stream, status);
        _y[Last].SubView(0, _columns.Columns).CopyToCPU(_output);
        if (pass == Pass.Forward)
        {
            return;
        }

        // The residuals, on the host: u's channels are the last layer's one unit, row by row.
        for (int t = 0; t < _columns.Terms.Length; t++)
        {
            TermColumns term = _columns.Terms[t];
            float scale = 2 * batch.Weight(t) / term.Count;
            for (int s = 0; s < term.Count; s++)
            {
                _sampleLosses[t][s] = PdeResidual.Evaluate(batch, t, term, s, _output, _seeds, scale, _scratch);
            }
        }

        if (pass == Pass.Loss)
        {
            return;
        }

        _adjoints[Last].SubView(0, _columns.Columns).CopyFromCPU(_seeds);
        Backward(stream, status);
        Gradients(stream, status);
        if (pass == Pass.Update)
        {
            var steps = new StepsVisitor(this, stream, status);
            step.Apply(ref steps);
        }

        _accelerator.Synchronize();
    }

    // z_l (rows, Units) = y_(l−1) Wᵀ, + b on the value rows; y_l = f(z_l) across each term's channels. The first layer
    // multiplies the points (the value rows) alone: its derivative channels are W's columns and zeros.
    private void Forward(AcceleratorStream stream, ArrayView<int> status)
    {
        int rows = _columns.Columns, valueRows = _columns.ValueColumns;
        for (int l = 0; l < _kernels.Layers.Length; l++)
        {
            IlgpuPdeProgram.LayerKernels layer = _kernels.Layers[l];
            LayerArchitecture architecture = _architecture.Layers[l];
            View x = l == 0 ? _points : _y[l - 1], w = _workspace.Weights(l);
            layer.Product(stream, layer.Tiles(architecture.Units, valueRows), status, x, w, _workspace.Bias(l), _z[l], _z[l], layer.Shape, valueRows);
            if (l > 0 && rows > valueRows)
            {
                View z = _z[l].SubView((long)valueRows * architecture.Units);
                layer.Product(stream, layer.Tiles(architecture.Units, rows - valueRows), status, x.SubView((long)valueRows * architecture.Inputs), w,
                    _zeros.View.SubView(0, architecture.Units), z, z, layer.Shape, rows - valueRows);
            }

            for (int t = 0; t < _shapes.Length; t++)
            {
                layer.ActivationForward(stream, _shapes[t].Count * architecture.Units, status, _z[l], _y[l], w, _secondInputs[t], _shapes[t], architecture.Units, architecture.Inputs, l == 0 ? 1 : 0);
            }
        }
    }

    // From z_l = W_l y_(l−1): dy_(l−1) (rows, Inputs) = dz_l (rows, Units) W_l, then the activation of layer l − 1 backward in
    // place; the output layer's activation backward first, on the seeds.
    private void Backward(AcceleratorStream stream, ArrayView<int> status)
    {
        int rows = _columns.Columns;
        ActivationBackward(stream, status, Last);
        for (int l = Last; l > 0; l--)
        {
            IlgpuPdeProgram.LayerKernels layer = _kernels.Layers[l];
            LayerArchitecture architecture = _architecture.Layers[l];
            layer.TransposedProduct(stream, layer.Tiles(architecture.Inputs, rows), status, _workspace.Weights(l), _adjoints[l], _adjoints[l - 1], _adjoints[l - 1], _adjoints[l - 1], layer.Shape, rows);
            ActivationBackward(stream, status, l - 1);
        }
    }

    private void ActivationBackward(AcceleratorStream stream, ArrayView<int> status, int l)
    {
        LayerArchitecture architecture = _architecture.Layers[l];
        for (int t = 0; t < _shapes.Length; t++)
        {
            _kernels.Layers[l].ActivationBackward(stream, _shapes[t].Count * architecture.Units, status, _z[l], _y[l], _adjoints[l], _workspace.Weights(l), _secondInputs[t],
                _shapes[t], architecture.Units, architecture.Inputs, l == 0 ? 1 : 0);
        }
    }

    // dW_l = dz_lᵀ y_(l−1) over every row, db_l over the value rows; the first layer's over the value rows, plus its sums
    // over each ∂/∂x_i block.
    private void Gradients(AcceleratorStream stream, ArrayView<int> status)
    {
        for (int l = 0; l < _kernels.Layers.Length; l++)
        {
            IlgpuPdeProgram.LayerKernels layer = _kernels.Layers[l];
            LayerArchitecture architecture = _architecture.Layers[l];
            View gradient = _gradient.View.SubView(_architecture.ParameterOffset(l), architecture.ParameterCount);
            View mask = layer.Masked ? _workspace.Mask(l) : _workspace.Weights(l);
            int rows = l == 0 ? _columns.ValueColumns : _columns.Columns;
            layer.WeightGradient(stream, layer.Tiles(architecture.Inputs, architecture.Units), status, l == 0 ? _points : _y[l - 1], _adjoints[l], gradient, mask, layer.Shape, rows, _columns.ValueColumns);
        }

        if (_blockCount > 0)
        {
            LayerArchitecture first = _architecture.Layers[0];
            View mask = _kernels.Layers[0].Masked ? _workspace.Mask(0) : _workspace.Weights(0);
            _kernels.FirstLayerSums(stream, first.WeightCount, status, _adjoints[0], _gradient.View.SubView(0, first.WeightCount), mask, _firstDerivativeBlocks, _blockCount, first.Units, first.Inputs);
        }
    }

    private void Steps<TRule>(AcceleratorStream stream, ArrayView<int> status, TRule rule)
        where TRule : struct, IUpdateRule
    {
        var step = _kernels.Step.Launcher<TRule, Action<AcceleratorStream, Index1D, ArrayView<int>, View, View, View, View, TRule, int, int>>();
        for (int l = 0; l < _architecture.Layers.Length; l++)
        {
            LayerArchitecture layer = _architecture.Layers[l];
            int weights = _architecture.WeightOffset(l), bias = _architecture.BiasOffset(l);
            step(stream, layer.WeightCount, status, _workspace.Weights(l), _workspace.WeightsMomentum(l), _workspace.WeightsSecondMoment(l), _gradient.View.SubView(weights, layer.WeightCount), rule, 1, 0);
            step(stream, layer.Units, status, _workspace.Bias(l), _workspace.BiasMomentum(l), _workspace.BiasSecondMoment(l), _gradient.View.SubView(bias, layer.Units), rule, 0, 0);
        }
    }

    private readonly struct StepsVisitor(IlgpuPdeEngine engine, AcceleratorStream stream, ArrayView<int> status) : IUpdateRuleVisitor
    {
        public void Visit<TRule>(in TRule rule)
            where TRule : struct, IUpdateRule => engine.Steps(stream, status, rule);
    }

    private float Losses(PdeBatch batch, Span<double> termLosses)
    {
        double total = 0;
        for (int t = 0; t < _columns.Terms.Length; t++)
        {
            double sum = 0;
            foreach (float loss in _sampleLosses[t])
            {
                sum += loss;
            }

            termLosses[t] = sum / _columns.Terms[t].Count;
            total += batch.Weight(t) * termLosses[t];
        }

        return (float)total;
    }

    private void UploadPoints(PdeBatch batch)
    {
        int inputs = batch.Inputs;
        for (int t = 0; t < _columns.Terms.Length; t++)
        {
            batch.Points(t).CopyTo(_hostPoints.AsSpan(_columns.Terms[t].Value * inputs));
        }

        _points.CopyFromCPU(_hostPoints);
    }

    /// <summary>Device buffers for <paramref name="batch"/>'s point counts, unless they are laid out already.</summary>
    private void Layout(PdeBatch batch)
    {
        if (!ReferenceEquals(batch, _laidOutFor) || batch.Shape != _laidOutShape)
        {
            LayOut(batch);
        }
    }

    private void LayOut(PdeBatch batch)
    {
        foreach (MemoryBuffer buffer in _buffers)
        {
            buffer.Dispose();
        }

        _buffers.Clear();

        // One point wide: no padding on the device.
        _columns = new PdeColumns(batch, width: 1);
        int rows = _columns.Columns;
        _shapes = [.. _columns.Terms.Select(term => new PdeTermShape(term.Value, term.Derivatives, term.Count, term.FirstDerivatives, term.SecondDerivatives, term.Laplacian ? 1 : 0, term.SecondInputs.Length))];
        _secondInputs = [.. _columns.Terms.Select(term => Track(_accelerator.Allocate1D(term.SecondInputs.Length == 0 ? [0] : term.SecondInputs)).View)];
        int[] blocks = [.. _columns.Terms.Where(term => term.FirstDerivatives > 0).SelectMany(term => new[] { term.Derivatives, term.Count })];
        _blockCount = blocks.Length / 2;
        _firstDerivativeBlocks = Track(_accelerator.Allocate1D(blocks.Length == 0 ? [0] : blocks)).View;
        _points = Track(_accelerator.Allocate1D<float>((long)_columns.ValueColumns * batch.Inputs)).View;
        _z = [.. _architecture.Layers.Select(layer => Track(_accelerator.Allocate1D<float>((long)rows * layer.Units)).View)];
        _y = [.. _architecture.Layers.Select(layer => Track(_accelerator.Allocate1D<float>((long)rows * layer.Units)).View)];
        _adjoints = [.. _architecture.Layers.Select(layer => Track(_accelerator.Allocate1D<float>((long)rows * layer.Units)).View)];
        _hostPoints = new float[_columns.ValueColumns * batch.Inputs];
        _output = new float[rows];
        _seeds = new float[rows];
        _sampleLosses = [.. _columns.Terms.Select(term => new float[term.Count])];
        _laidOutFor = batch;
        _laidOutShape = batch.Shape;
    }

    private T Track<T>(T buffer)
        where T : MemoryBuffer
    {
        _buffers.Add(buffer);
        return buffer;
    }
}
