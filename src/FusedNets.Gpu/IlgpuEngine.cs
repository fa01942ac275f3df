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
/// Divergence: before each step the parameters and momentum are copied to a snapshot. Kernels flag a loss or
/// updated parameter that is not finite in the workspace's status, and every later kernel (the snapshot copy
/// included) then does nothing, so the snapshot holds the last good state, which the engine restores.
/// </remarks>
internal sealed class IlgpuEngine : INetworkEngine, IEpochTrainer
{
    private readonly Accelerator _accelerator;
    private readonly NetworkArchitecture _architecture;
    private readonly IlgpuProgram _program;
    private readonly IlgpuWorkspace _workspace;
    private readonly Action<AcceleratorStream, Index1D, ArrayView<int>, ArrayView<float>, ArrayView<float>> _copyWhileHealthy;
    private readonly Action<AcceleratorStream, Index1D, ArrayView<int>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int> _gatherRows;
    private readonly Action<AcceleratorStream, Index1D, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, int> _gatherLabels;
    private readonly int[] _status = new int[1];
    private float[] _losses = [];
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

    public float TrainBatch(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, int batch, SgdStep sgd)
    {
        Upload(inputs, labels, targets, batch);
        _workspace.Status.MemSetToZero();
        Step(batch, sgd, step: 0, _workspace.Losses);
        float loss = MeanLoss(_workspace.Losses, batch);
        return RestoreIfFailed() >= 0 ? float.NaN : loss;
    }

    public float TrainEpoch(Dataset data, ReadOnlySpan<int> order, int batchSize, SgdStep sgd, out int failedBatch)
    {
        DeviceDataset dataset = Resident(data);
        dataset.Order.SubView(0, order.Length).CopyFromCPU(order);
        _workspace.EnsureCapacity(batchSize);
        _workspace.Status.MemSetToZero();
        int inputSize = _architecture.InputSize, outputSize = _architecture.OutputSize;
        int step = 0;
        for (int first = 0; first < order.Length; first += batchSize, step++)
        {
            int batch = Math.Min(batchSize, order.Length - first);
            _gatherRows(_workspace.Stream, batch * inputSize, _workspace.Status, dataset.Features, dataset.Order, _workspace.Input, first, inputSize);
            if (data.IsClassification)
            {
                _gatherLabels(_workspace.Stream, batch, _workspace.Status, dataset.Labels, dataset.Order, _workspace.Labels, first);
            }
            else
            {
                _gatherRows(_workspace.Stream, batch * outputSize, _workspace.Status, dataset.Targets, dataset.Order, _workspace.Targets, first, outputSize);
            }

            Step(batch, sgd, step, dataset.Losses.SubView(first, batch));
        }

        float loss = MeanLoss(dataset.Losses, order.Length);
        failedBatch = RestoreIfFailed();
        return failedBatch >= 0 ? float.NaN : loss;
    }

    public float InputGradient(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, int batch, Span<float> inputGradient)
    {
        Upload(inputs, labels, targets, batch);
        _workspace.Status.MemSetToZero();
        _program.Forward(_workspace, batch);
        _program.Loss(_workspace, batch, 0, _workspace.Losses);
        _program.Backward(_workspace, batch, default, update: false, inputGradient: true, step: 0);
        _workspace.InputGradient.SubView(0, inputGradient.Length).CopyToCPU(inputGradient);
        return MeanLoss(_workspace.Losses, batch);
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

    public void IntervalBounds(ReadOnlySpan<float> lower, ReadOnlySpan<float> upper, int batch, int layers, Span<float> outputLower, Span<float> outputUpper)
    {
        _workspace.EnsureCapacity(batch);
        if (_intervals is null || _intervals.Capacity < batch)
        {
            _intervals?.Dispose();
            _intervals = new IlgpuIntervalBuffers(_accelerator, _architecture, _workspace.Capacity);
        }

        _intervals.Lower(-1).SubView(0, lower.Length).CopyFromCPU(lower);
        _intervals.Upper(-1).SubView(0, upper.Length).CopyFromCPU(upper);
        _program.IntervalBounds(_workspace, _intervals, batch, layers);
        _intervals.Lower(layers - 1).SubView(0, outputLower.Length).CopyToCPU(outputLower);
        _intervals.Upper(layers - 1).SubView(0, outputUpper.Length).CopyToCPU(outputUpper);
    }

    public void VectorJacobianProduct(ReadOnlySpan<float> inputs, ReadOnlySpan<float> outputGradient, int batch, Span<float> inputGradient)
    {
        Upload(inputs, default, outputGradient, batch);
        _workspace.Status.MemSetToZero();
        _program.Forward(_workspace, batch);
        _program.Seed(_workspace, batch);
        _program.Backward(_workspace, batch, default, update: false, inputGradient: true, step: 0);
        _workspace.InputGradient.SubView(0, inputGradient.Length).CopyToCPU(inputGradient);
    }

    public void ReadParameters(Span<float> destination) => _workspace.Parameters.CopyToCPU(destination);

    public void WriteParameters(ReadOnlySpan<float> source) => _workspace.Parameters.CopyFromCPU(source);

    public void ReadMomentum(Span<float> destination) => _workspace.Momentum.CopyToCPU(destination);

    public void WriteMomentum(ReadOnlySpan<float> source) => _workspace.Momentum.CopyFromCPU(source);

    public void Dispose()
    {
        _dataset?.Dispose();
        _intervals?.Dispose();
        _workspace.Dispose();
    }

    /// <summary>Snapshot, then the program's training step: launches only, no read back.</summary>
    private void Step(int batch, SgdStep sgd, int step, ArrayView<float> losses)
    {
        int parameters = _architecture.ParameterCount;
        _copyWhileHealthy(_workspace.Stream, parameters, _workspace.Status, _workspace.Parameters, _workspace.ParametersSnapshot);
        _copyWhileHealthy(_workspace.Stream, parameters, _workspace.Status, _workspace.Momentum, _workspace.MomentumSnapshot);
        _program.TrainStep(_workspace, batch, sgd, step, losses);
    }

    /// <summary>Reads the status; after a failed step, restores the snapshot and returns that step's index, else -1.</summary>
    private int RestoreIfFailed()
    {
        _workspace.Status.CopyToCPU(_status.AsSpan());
        if (_status[0] == 0)
        {
            return -1;
        }

        _workspace.ParametersSnapshot.CopyTo(_workspace.Parameters);
        _workspace.MomentumSnapshot.CopyTo(_workspace.Momentum);
        _accelerator.Synchronize();
        return _status[0] - 1;
    }

    private void Upload(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, int batch)
    {
        _workspace.EnsureCapacity(batch);
        _workspace.Input.SubView(0, inputs.Length).CopyFromCPU(inputs);
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
