using FusedNets.Backends;
using FusedNets.Generated;
using FusedNets.Data;
using ILGPU;
using ILGPU.Runtime;

namespace FusedNets.Gpu;

/// <summary>
/// Runs a network's ILGPU kernels (<see cref="IlgpuProgram"/>) on one accelerator. A step is a
/// sequence of launches on the default stream with one read back at its end; a whole epoch (<see cref="TrainEpoch"/>)
/// keeps the data set on the device, gathers each batch there by index, and reads back once.
/// </summary>
/// <remarks>
/// Divergence: before each step the parameters and moments are copied to a snapshot. Kernels flag a loss or
/// updated parameter that is not finite in the workspace's status, and every later kernel (the snapshot copy
/// included) then does nothing, so the snapshot holds the last good state, which the engine restores.
/// </remarks>
internal sealed partial class IlgpuEngine : INetworkEngine, IEpochTrainer
{
    private readonly Accelerator _accelerator;
    private readonly NetworkArchitecture _architecture;
    private readonly IlgpuProgram _program;
    private readonly IlgpuWorkspace _workspace;
    private readonly Action<AcceleratorStream, Index1D, ArrayView<int>, ArrayView<float>, ArrayView<float>> _copyWhileHealthy;
    private readonly Action<AcceleratorStream, Index1D, ArrayView<int>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int> _gatherRows;
    private readonly Action<AcceleratorStream, Index1D, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, int> _gatherLabels;
    private readonly Action<AcceleratorStream, Index1D, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int> _standardize;
    private readonly Action<AcceleratorStream, Index1D, ArrayView<int>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, ArrayView<float>, ArrayView<float>, int> _gatherStandardizedRows;
    private readonly float[] _inputMean, _inputDeviation;
    private float[] _boxLower = [], _boxUpper = [];
    private readonly int[] _status = new int[1];
    private float[] _losses = [];
    private int[] _labels = [];
    private DeviceDataset? _dataset;
    private IlgpuIntervalBuffers? _intervals;

    public IlgpuEngine(Backend backend, Accelerator accelerator, NetworkArchitecture architecture, IReadOnlyList<float[]?> masks)
    {
        Backend = backend;
        _accelerator = accelerator;
        _architecture = architecture;
        _program = new IlgpuProgram(accelerator, architecture, masks);
        _workspace = new IlgpuWorkspace(accelerator, architecture, masks);
        KernelLibrary kernels = KernelLibrary.On(accelerator);
        kernels.Load(KernelInstance.Of(typeof(KernelChecks), nameof(KernelChecks.CopyWhileHealthy), [], specialization: null), out _copyWhileHealthy);
        kernels.Load(KernelInstance.Of(typeof(KernelChecks), nameof(KernelChecks.GatherRows), [], specialization: null), out _gatherRows);
        kernels.Load(KernelInstance.Of(typeof(KernelChecks), nameof(KernelChecks.GatherLabels), [], specialization: null), out _gatherLabels);
        kernels.Load(KernelInstance.Of(typeof(KernelChecks), nameof(KernelChecks.Standardize), [], specialization: null), out _standardize);
        kernels.Load(KernelInstance.Of(typeof(KernelChecks), nameof(KernelChecks.GatherStandardizedRows), [], specialization: null), out _gatherStandardizedRows);
        _inputMean = architecture.StandardizesInput ? new float[architecture.InputSize] : [];
        _inputDeviation = architecture.StandardizesInput ? [.. Enumerable.Repeat(1f, architecture.InputSize)] : [];
    }

    public Backend Backend { get; }

    public string DeviceName => $"{_accelerator.Name} (ILGPU {_accelerator.AcceleratorType})";

    public void Predict(ReadOnlySpan<float> inputs, Span<float> outputs, int batch)
    {
        Upload(inputs, default, default, batch);
        _workspace.Status.MemSetToZero();
        _program.Forward(_workspace, batch);
        _workspace.Activation(_architecture.Layers.Length - 1).SubView(0, outputs.Length).CopyToCPU(outputs);
    }

    public float TrainBatch(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, int batch, OptimizerStep step)
    {
        Upload(inputs, labels, targets, batch);
        PrepareState(step);
        _workspace.Status.MemSetToZero();
        Step(batch, step, stepIndex: 0, _workspace.Losses);
        float loss = MeanLoss(_workspace.Losses, batch);
        return RestoreIfFailed(step) >= 0 ? float.NaN : loss;
    }

    public float TrainEpoch(Dataset data, ReadOnlySpan<int> order, int batchSize, OptimizerStep first, out int failedBatch)
    {
        DeviceDataset dataset = Resident(data);
        dataset.Order.SubView(0, order.Length).CopyFromCPU(order);
        _workspace.EnsureCapacity(batchSize);
        PrepareState(first);
        _workspace.Status.MemSetToZero();
        int inputSize = _architecture.InputSize, outputSize = _architecture.OutputSize;
        int stepIndex = 0;
        OptimizerStep step = first;
        for (int start = 0; start < order.Length; start += batchSize, stepIndex++, step = step.Next())
        {
            int batch = Math.Min(batchSize, order.Length - start);
            if (_workspace.StandardizesInput)
            {
                _gatherStandardizedRows(_workspace.Stream, batch * inputSize, _workspace.Status, dataset.Features, dataset.Order, _workspace.Input, start,
                    _workspace.InputMean, _workspace.InputDeviation, inputSize);
            }
            else
            {
                _gatherRows(_workspace.Stream, batch * inputSize, _workspace.Status, dataset.Features, dataset.Order, _workspace.Input, start, inputSize);
            }

            if (data.IsClassification)
            {
                _gatherLabels(_workspace.Stream, batch, _workspace.Status, dataset.Labels, dataset.Order, _workspace.Labels, start);
            }
            else
            {
                _gatherRows(_workspace.Stream, batch * outputSize, _workspace.Status, dataset.Targets, dataset.Order, _workspace.Targets, start, outputSize);
            }

            Step(batch, step, stepIndex, dataset.Losses.SubView(start, batch));
        }

        float loss = MeanLoss(dataset.Losses, order.Length);
        failedBatch = RestoreIfFailed(first);
        return failedBatch >= 0 ? float.NaN : loss;
    }

    public float InputGradient(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, int batch, Span<float> inputGradient)
    {
        Upload(inputs, labels, targets, batch);
        _workspace.Status.MemSetToZero();
        _program.Forward(_workspace, batch);
        _program.Loss(_workspace, batch, 0, _workspace.Losses);
        _program.Backward(_workspace, batch, optimizer: null, inputGradient: true, step: 0);
        DownloadInputGradient(inputGradient);
        return MeanLoss(_workspace.Losses, batch);
    }

    /// <summary>The input gradient the backward pass left, with respect to the raw features.</summary>
    private void DownloadInputGradient(Span<float> inputGradient)
    {
        _workspace.InputGradient.SubView(0, inputGradient.Length).CopyToCPU(inputGradient);
        if (_workspace.StandardizesInput)
        {
            // From the standardized input back to the raw one: dL/dx = dL/dx' / deviation.
            for (int i = 0; i < inputGradient.Length; i++)
            {
                inputGradient[i] /= _inputDeviation[i % _inputDeviation.Length];
            }
        }
    }

    public void Evaluate(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, int batch, Span<float> outputs, Span<float> losses)
    {
        Upload(inputs, labels, targets, batch);
        _workspace.Status.MemSetToZero();
        _program.Forward(_workspace, batch);
        _program.Loss(_workspace, batch, 0, _workspace.Losses);
        _workspace.Activation(_architecture.Layers.Length - 1).SubView(0, (long)batch * _architecture.OutputSize).CopyToCPU(outputs[..(batch * _architecture.OutputSize)]);
        _workspace.Losses.SubView(0, batch).CopyToCPU(losses[..batch]);
    }

    public void SetStandardization(ReadOnlySpan<float> mean, ReadOnlySpan<float> standardDeviation)
    {
        _workspace.InputMean.CopyFromCPU(mean);
        _workspace.InputDeviation.CopyFromCPU(standardDeviation);
        mean.CopyTo(_inputMean);
        standardDeviation.CopyTo(_inputDeviation);
    }

    public void IntervalBounds(ReadOnlySpan<float> lower, ReadOnlySpan<float> upper, int batch, int layers, Span<float> outputLower, Span<float> outputUpper)
    {
        IlgpuIntervalBuffers intervals = EnsureIntervals(batch, training: false);

        if (_workspace.StandardizesInput)
        {
            // The boxes of the features the first layer reads (IntervalBoxes.Standardize), standardized here: once per box.
            if (_boxLower.Length < lower.Length)
            {
                (_boxLower, _boxUpper) = (new float[lower.Length], new float[lower.Length]);
            }

            IntervalBoxes.Standardize(lower, upper, _inputMean, _inputDeviation, outward: true, _boxLower.AsSpan(0, lower.Length), _boxUpper.AsSpan(0, upper.Length));
            upper = _boxUpper.AsSpan(0, upper.Length);
            lower = _boxLower.AsSpan(0, lower.Length);
        }

        intervals.Lower(-1).SubView(0, lower.Length).CopyFromCPU(lower);
        intervals.Upper(-1).SubView(0, upper.Length).CopyFromCPU(upper);
        _program.IntervalBounds(_workspace, intervals, batch, layers);
        intervals.Lower(layers - 1).SubView(0, outputLower.Length).CopyToCPU(outputLower);
        intervals.Upper(layers - 1).SubView(0, outputUpper.Length).CopyToCPU(outputUpper);
    }

    public float TrainBatchCertified(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, int batch, CertifiedStep certified, OptimizerStep step)
    {
        // As the CPU engine: the points (boxes of radius 0, whose interval loss is the ordinary loss) weighted κ / B, then
        // their ε-boxes weighted (1 − κ) / B, so that one pass takes the gradient of the whole mixed loss; no points when κ is 0.
        int inputSize = _architecture.InputSize;
        int copies = certified.Kappa == 0 ? 1 : 2, boxes = copies * batch, points = copies == 2 ? batch : 0;
        IlgpuIntervalBuffers intervals = EnsureIntervals(boxes, training: true);
        if (_boxLower.Length < boxes * inputSize)
        {
            (_boxLower, _boxUpper) = (new float[boxes * inputSize], new float[boxes * inputSize]);
        }

        if (_labels.Length < boxes)
        {
            _labels = new int[boxes];
        }

        for (int copy = 0; copy < copies; copy++)
        {
            Span<float> lower = _boxLower.AsSpan(copy * batch * inputSize, batch * inputSize), upper = _boxUpper.AsSpan(copy * batch * inputSize, batch * inputSize);
            IntervalBoxes.Around(inputs, copy * batch < points ? 0 : certified.Epsilon, certified.ClipMin, certified.ClipMax, lower, upper);
            if (_workspace.StandardizesInput)
            {
                // ε and the clip range are in raw features; the layers read standardized ones.
                IntervalBoxes.Standardize(lower, upper, _inputMean, _inputDeviation, outward: false, lower, upper);
            }

            labels.CopyTo(_labels.AsSpan(copy * batch));
        }

        intervals.Lower(-1).SubView(0, boxes * inputSize).CopyFromCPU(_boxLower.AsSpan(0, boxes * inputSize));
        intervals.Upper(-1).SubView(0, boxes * inputSize).CopyFromCPU(_boxUpper.AsSpan(0, boxes * inputSize));
        _workspace.Labels.SubView(0, boxes).CopyFromCPU(_labels.AsSpan(0, boxes));
        PrepareState(step);
        _workspace.Status.MemSetToZero();
        Snapshot(step);
        float pointWeight = certified.Kappa / batch, boxWeight = (1 - certified.Kappa) / batch;
        _program.CertifiedStep(_workspace, intervals, boxes, points, pointWeight, boxWeight, step);

        if (_losses.Length < boxes)
        {
            _losses = new float[boxes];
        }

        intervals.Losses.SubView(0, boxes).CopyToCPU(_losses.AsSpan(0, boxes));
        double loss = 0;
        for (int s = 0; s < boxes; s++)
        {
            loss += (double)(s < points ? pointWeight : boxWeight) * _losses[s];
        }

        return RestoreIfFailed(step) >= 0 || !double.IsFinite(loss) ? float.NaN : (float)loss;
    }

    /// <summary>The interval buffers for at least <paramref name="batch"/> boxes, with what certified training writes when <paramref name="training"/>.</summary>
    private IlgpuIntervalBuffers EnsureIntervals(int batch, bool training)
    {
        _workspace.EnsureCapacity(batch);
        if (_intervals is null || _intervals.Capacity < batch || (training && !_intervals.Training))
        {
            training |= _intervals?.Training ?? false;
            _intervals?.Dispose();
            _intervals = new IlgpuIntervalBuffers(_accelerator, _architecture, _workspace.Capacity, training);
        }

        return _intervals;
    }

    public void VectorJacobianProduct(ReadOnlySpan<float> inputs, ReadOnlySpan<float> outputGradient, int batch, Span<float> inputGradient)
    {
        Upload(inputs, default, outputGradient, batch);
        _workspace.Status.MemSetToZero();
        _program.Forward(_workspace, batch);
        _program.Seed(_workspace, batch);
        _program.Backward(_workspace, batch, optimizer: null, inputGradient: true, step: 0);
        DownloadInputGradient(inputGradient);
    }

    public void ReadParameters(Span<float> destination) => _workspace.Parameters.CopyToCPU(destination);

    public void WriteParameters(ReadOnlySpan<float> source) => _workspace.Parameters.CopyFromCPU(source);

    public void ReadMomentum(Span<float> destination) => _workspace.Momentum.CopyToCPU(destination);

    public void WriteMomentum(ReadOnlySpan<float> source) => _workspace.Momentum.CopyFromCPU(source);

    public void ReadSecondMoment(Span<float> destination)
    {
        if (_workspace.HasSecondMoment)
        {
            _workspace.SecondMoment.CopyToCPU(destination);
        }
        else
        {
            destination.Clear();
        }
    }

    public void WriteSecondMoment(ReadOnlySpan<float> source)
    {
        _workspace.EnsureSecondMoment();
        _workspace.SecondMoment.CopyFromCPU(source);
    }

    public void SetMask(int layer, float[]? mask)
    {
        _workspace.SetMask(layer, mask);
        _program.SetMasked(layer, mask is not null);
    }

    public void Dispose()
    {
        _pde?.Dispose();
        _dataset?.Dispose();
        _intervals?.Dispose();
        _workspace.Dispose();
    }

    /// <summary>The second moments, before the first step of a rule that keeps them.</summary>
    private void PrepareState(OptimizerStep step)
    {
        if (step.HasSecondMoment)
        {
            _workspace.EnsureSecondMoment();
        }
    }

    /// <summary>Snapshot of what the step changes, then the program's training step: launches only, no read back.</summary>
    private void Step(int batch, OptimizerStep step, int stepIndex, ArrayView<float> losses)
    {
        Snapshot(step);
        _program.TrainStep(_workspace, batch, step, stepIndex, losses);
    }

    /// <summary>Copies the parameters and moments a step of <paramref name="step"/>'s rule changes, unless a step has failed.</summary>
    private void Snapshot(OptimizerStep step)
    {
        int parameters = _architecture.ParameterCount;
        _copyWhileHealthy(_workspace.Stream, parameters, _workspace.Status, _workspace.Parameters, _workspace.ParametersSnapshot);
        _copyWhileHealthy(_workspace.Stream, parameters, _workspace.Status, _workspace.Momentum, _workspace.MomentumSnapshot);
        if (step.HasSecondMoment)
        {
            _copyWhileHealthy(_workspace.Stream, parameters, _workspace.Status, _workspace.SecondMoment, _workspace.SecondMomentSnapshot);
        }
    }

    /// <summary>Reads the status; after a failed step of <paramref name="step"/>'s rule, restores the snapshot and returns that step's index, else -1.</summary>
    private int RestoreIfFailed(OptimizerStep step)
    {
        _workspace.Status.CopyToCPU(_status.AsSpan());
        if (_status[0] == 0)
        {
            return -1;
        }

        _workspace.ParametersSnapshot.CopyTo(_workspace.Parameters);
        _workspace.MomentumSnapshot.CopyTo(_workspace.Momentum);
        if (step.HasSecondMoment)
        {
            _workspace.SecondMomentSnapshot.CopyTo(_workspace.SecondMoment);
        }

        _accelerator.Synchronize();
        return _status[0] - 1;
    }

    private void Upload(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, int batch)
    {
        _workspace.EnsureCapacity(batch);
        _workspace.Input.SubView(0, inputs.Length).CopyFromCPU(inputs);
        if (_workspace.StandardizesInput)
        {
            // The status may still mark a failed step, which would stop the kernel.
            _workspace.Status.MemSetToZero();
            _standardize(_workspace.Stream, inputs.Length, _workspace.Status, _workspace.Input, _workspace.InputMean, _workspace.InputDeviation, _architecture.InputSize);
        }
        if (!labels.IsEmpty)
        {
            _workspace.Labels.SubView(0, labels.Length).CopyFromCPU(labels);
        }

        if (!targets.IsEmpty)
        {
            _workspace.Targets.SubView(0, targets.Length).CopyFromCPU(targets);
        }
    }

    /// <summary>Reads <paramref name="count"/> per-sample losses back (the one synchronization) and averages them in order.</summary>
    private float MeanLoss(ArrayView<float> losses, int count)
    {
        if (_losses.Length < count)
        {
            _losses = new float[count];
        }

        Span<float> values = _losses.AsSpan(0, count);
        losses.SubView(0, count).CopyToCPU(values);
        double sum = 0;
        foreach (float loss in values)
        {
            sum += loss;
        }

        return (float)(sum / count);
    }

    /// <summary>The data set on the device: uploaded on first use, kept until another data set is trained on.</summary>
    private DeviceDataset Resident(Dataset data)
    {
        if (_dataset is null || !ReferenceEquals(_dataset.Source, data))
        {
            _dataset?.Dispose();
            _dataset = new DeviceDataset(_accelerator, data);
        }

        return _dataset;
    }

    private sealed class DeviceDataset : IDisposable
    {
        private readonly MemoryBuffer1D<float, Stride1D.Dense> _features;
        private readonly MemoryBuffer1D<int, Stride1D.Dense> _labels;
        private readonly MemoryBuffer1D<float, Stride1D.Dense> _targets;
        private readonly MemoryBuffer1D<int, Stride1D.Dense> _order;
        private readonly MemoryBuffer1D<float, Stride1D.Dense> _losses;

        public DeviceDataset(Accelerator accelerator, Dataset data)
        {
            Source = data;
            _features = accelerator.Allocate1D<float>(data.Features.Length);
            Features.CopyFromCPU(data.Features);
            _labels = accelerator.Allocate1D<int>(Math.Max(1, data.Labels.Length));
            Labels.SubView(0, data.Labels.Length).CopyFromCPU(data.Labels);
            _targets = accelerator.Allocate1D<float>(Math.Max(1, data.Targets.Length));
            Targets.SubView(0, data.Targets.Length).CopyFromCPU(data.Targets);
            _order = accelerator.Allocate1D<int>(data.Count);
            _losses = accelerator.Allocate1D<float>(data.Count);
        }

        public Dataset Source { get; }

        public ArrayView<float> Features => _features.View;

        public ArrayView<int> Labels => _labels.View;

        public ArrayView<float> Targets => _targets.View;

        /// <summary>This epoch's sample order.</summary>
        public ArrayView<int> Order => _order.View;

        /// <summary>This epoch's per-sample losses, in visiting order.</summary>
        public ArrayView<float> Losses => _losses.View;

        public void Dispose()
        {
            _features.Dispose();
            _labels.Dispose();
            _targets.Dispose();
            _order.Dispose();
            _losses.Dispose();
        }
    }
}
