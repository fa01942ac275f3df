using ILGPU;
using ILGPU.Runtime;

namespace FusedNets.Backends.Ilgpu;

/// <summary>
/// Runs a network's generated ILGPU kernels (<see cref="IlgpuProgram"/>) on one accelerator: uploads each
/// batch, launches forward, loss and backward on the default stream, and reads back only the losses or outputs.
/// </summary>
public sealed class IlgpuEngine : INetworkEngine
{
    private readonly Accelerator _accelerator;
    private readonly NetworkArchitecture _architecture;
    private readonly IlgpuProgram _program;
    private readonly IlgpuWorkspace _workspace;
    private float[] _losses = [];

    public IlgpuEngine(Backend backend, Accelerator accelerator, NetworkDefinition definition, IReadOnlyList<float[]?> masks)
    {
        Backend = backend;
        _accelerator = accelerator;
        _architecture = definition.Architecture;
        _program = definition.CreateIlgpuProgram(accelerator);
        _workspace = new IlgpuWorkspace(accelerator, _architecture, masks);
    }

    public Backend Backend { get; }

    public string DeviceName => $"{_accelerator.Name} (ILGPU {_accelerator.AcceleratorType})";

    public void Predict(ReadOnlySpan<float> inputs, Span<float> outputs, int batch)
    {
        Upload(inputs, default, default, batch);
        _program.Forward(_workspace, batch);
        _workspace.Activation(_architecture.Layers.Length - 1).SubView(0, outputs.Length).CopyToCPU(outputs);
    }

    public float TrainBatch(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, int batch, SgdStep sgd)
    {
        Upload(inputs, labels, targets, batch);
        _program.Forward(_workspace, batch);
        _program.Loss(_workspace, batch);
        _program.Backward(_workspace, batch, sgd, update: true, inputGradient: false);
        return MeanLoss(batch);
    }

    public float InputGradient(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, int batch, Span<float> inputGradient)
    {
        Upload(inputs, labels, targets, batch);
        _program.Forward(_workspace, batch);
        _program.Loss(_workspace, batch);
        _program.Backward(_workspace, batch, default, update: false, inputGradient: true);
        _workspace.InputGradient.SubView(0, inputGradient.Length).CopyToCPU(inputGradient);
        return MeanLoss(batch);
    }

    public void Evaluate(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, int batch, Span<float> outputs, Span<float> losses)
    {
        Upload(inputs, labels, targets, batch);
        _program.Forward(_workspace, batch);
        _program.Loss(_workspace, batch);
        _workspace.Activation(_architecture.Layers.Length - 1).SubView(0, (long)batch * _architecture.OutputSize).CopyToCPU(outputs[..(batch * _architecture.OutputSize)]);
        _workspace.Losses.SubView(0, batch).CopyToCPU(losses[..batch]);
    }

    public void ReadParameters(Span<float> destination) => _workspace.Parameters.CopyToCPU(destination);

    public void WriteParameters(ReadOnlySpan<float> source) => _workspace.Parameters.CopyFromCPU(source);

    public void ReadMomentum(Span<float> destination) => _workspace.Momentum.CopyToCPU(destination);

    public void WriteMomentum(ReadOnlySpan<float> source) => _workspace.Momentum.CopyFromCPU(source);

    public void Dispose() => _workspace.Dispose();

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

    private float MeanLoss(int batch)
    {
        if (_losses.Length < batch)
        {
            _losses = new float[_workspace.Capacity];
        }

        Span<float> losses = _losses.AsSpan(0, batch);
        _workspace.Losses.SubView(0, batch).CopyToCPU(losses);
        double sum = 0;
        foreach (float loss in losses)
        {
            sum += loss;
        }

        return (float)(sum / batch);
    }
}
