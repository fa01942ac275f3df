using FusedNets.Generated;
using System.Runtime.Intrinsics;

namespace FusedNets.Backends.Cpu;

/// <summary>
/// <see cref="Backend.Cpu"/>: dense and convolutional layers as register-blocked SIMD products on all cores, with bias and
/// activation fused into the forward, the activation derivative into the backward and the optimizer step into the weight
/// gradient. The vector width is chosen once, here: AVX-512 where accelerated, else 256-bit, else 128-bit (SSE, NEON),
/// else scalar.
/// </summary>
internal sealed class CpuEngine : INetworkEngine, IPdeEngineSource
{
    private readonly INetworkEngine _pipeline;

    /// <summary>An engine for an architecture built without the generator: its schedule is read at run time (<see cref="ArchitectureCpuProgram"/>).</summary>
    public CpuEngine(NetworkArchitecture architecture, IReadOnlyList<float[]?> masks, CpuEngineOptions? options = null)
        : this(architecture, new ArchitectureCpuProgram(architecture), masks, options ?? new CpuEngineOptions())
    {
    }

    /// <summary>An engine running <paramref name="program"/>, the generator's CPU code for <paramref name="architecture"/>.</summary>
    public CpuEngine(NetworkArchitecture architecture, CpuProgram program, IReadOnlyList<float[]?> masks, CpuEngineOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.Threads);
        Width = options.Width == VectorWidth.Auto ? WidestAccelerated : options.Width;
        _pipeline = Width switch
        {
            VectorWidth.Vector512 => new CpuPipeline<Vector512<float>, Vector512Ops>(architecture, program.CreateKernels<Vector512<float>, Vector512Ops>(), masks, options),
            VectorWidth.Vector256 => new CpuPipeline<Vector256<float>, Vector256Ops>(architecture, program.CreateKernels<Vector256<float>, Vector256Ops>(), masks, options),
            VectorWidth.Vector128 => new CpuPipeline<Vector128<float>, Vector128Ops>(architecture, program.CreateKernels<Vector128<float>, Vector128Ops>(), masks, options),
            _ => new CpuPipeline<float, ScalarOps>(architecture, program.CreateKernels<float, ScalarOps>(), masks, options),
        };
    }

    /// <summary>The width <see cref="VectorWidth.Auto"/> stands for in this process.</summary>
    public static VectorWidth WidestAccelerated =>
        Vector512.IsHardwareAccelerated ? VectorWidth.Vector512
        : Vector256.IsHardwareAccelerated ? VectorWidth.Vector256
        : Vector128.IsHardwareAccelerated ? VectorWidth.Vector128
        : VectorWidth.Scalar;

    /// <summary>The width this engine computes with (<see cref="VectorWidth.Auto"/> resolved).</summary>
    public VectorWidth Width { get; }

    public Backend Backend => Backend.Cpu;

    public string DeviceName => _pipeline.DeviceName;

    public void Predict(ReadOnlySpan<float> inputs, Span<float> outputs, int batch) => _pipeline.Predict(inputs, outputs, batch);

    public float TrainBatch(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, int batch, OptimizerStep step) =>
        _pipeline.TrainBatch(inputs, labels, targets, batch, step);

    /// <summary>Undoes the last successful <see cref="TrainBatch"/>; valid only right after it (see <see cref="CpuPipeline{TVector, TOps}.RevertStep"/>).</summary>
    public void RevertStep()
    {
        switch (_pipeline)
        {
            case CpuPipeline<Vector512<float>, Vector512Ops> pipeline: pipeline.RevertStep(); break;
            case CpuPipeline<Vector256<float>, Vector256Ops> pipeline: pipeline.RevertStep(); break;
            case CpuPipeline<Vector128<float>, Vector128Ops> pipeline: pipeline.RevertStep(); break;
            case CpuPipeline<float, ScalarOps> pipeline: pipeline.RevertStep(); break;
            default: throw new InvalidOperationException("Unknown vector width.");
        }
    }

    public float InputGradient(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, int batch, Span<float> inputGradient) =>
        _pipeline.InputGradient(inputs, labels, targets, batch, inputGradient);

    public void Evaluate(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, int batch, Span<float> outputs, Span<float> losses) =>
        _pipeline.Evaluate(inputs, labels, targets, batch, outputs, losses);

    public void SetStandardization(ReadOnlySpan<float> mean, ReadOnlySpan<float> standardDeviation) => _pipeline.SetStandardization(mean, standardDeviation);

    public void IntervalBounds(ReadOnlySpan<float> lower, ReadOnlySpan<float> upper, int batch, int layers, Span<float> outputLower, Span<float> outputUpper) =>
        _pipeline.IntervalBounds(lower, upper, batch, layers, outputLower, outputUpper);

    public void VectorJacobianProduct(ReadOnlySpan<float> inputs, ReadOnlySpan<float> outputGradient, int batch, Span<float> inputGradient) =>
        _pipeline.VectorJacobianProduct(inputs, outputGradient, batch, inputGradient);

    public float TrainBatchCertified(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, int batch, CertifiedStep certified, OptimizerStep step) =>
        _pipeline.TrainBatchCertified(inputs, labels, batch, certified, step);

    public void ReadParameters(Span<float> destination) => _pipeline.ReadParameters(destination);

    public void WriteParameters(ReadOnlySpan<float> source) => _pipeline.WriteParameters(source);

    public void ReadMomentum(Span<float> destination) => _pipeline.ReadMomentum(destination);

    public void WriteMomentum(ReadOnlySpan<float> source) => _pipeline.WriteMomentum(source);

    public void ReadSecondMoment(Span<float> destination) => _pipeline.ReadSecondMoment(destination);

    public void WriteSecondMoment(ReadOnlySpan<float> source) => _pipeline.WriteSecondMoment(source);

    public IPdeEngine Pde(PdeProgram program) => ((IPdeEngineSource)_pipeline).Pde(program);

    public void SetMask(int layer, float[]? mask) => _pipeline.SetMask(layer, mask);

    /// <summary>Layer <paramref name="layer"/>'s parameters as its kernels keep them, for tests that check which kernels a mask selects.</summary>
    internal CpuWeights? LayerWeights(int layer) => _pipeline switch
    {
        CpuPipeline<Vector512<float>, Vector512Ops> pipeline => pipeline.Layers[layer].Weights,
        CpuPipeline<Vector256<float>, Vector256Ops> pipeline => pipeline.Layers[layer].Weights,
        CpuPipeline<Vector128<float>, Vector128Ops> pipeline => pipeline.Layers[layer].Weights,
        CpuPipeline<float, ScalarOps> pipeline => pipeline.Layers[layer].Weights,
        _ => throw new InvalidOperationException("Unknown vector width."),
    };

    public void Dispose() => _pipeline.Dispose();
}

/// <summary>Which SIMD width the CPU engine compiles its kernels for.</summary>
internal enum VectorWidth
{
    /// <summary>The widest accelerated: 512-bit, else 256-bit, else 128-bit, else scalar.</summary>
    Auto,
    Vector512,
    Vector256,
    Vector128,
    Scalar,
}

/// <summary>Tuning knobs of the CPU engine, for tests and benchmarks; the defaults suit ordinary use.</summary>
internal sealed record CpuEngineOptions
{
    /// <summary>Threads per pass, the caller's included. Results are identical for any count.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    public VectorWidth Width { get; init; } = VectorWidth.Auto;

    /// <summary>
    /// Passes smaller than this many floating-point operations run on the calling thread alone: waking
    /// the workers costs microseconds, more than a tiny network's whole step. A single-sample prediction
    /// counts as a pass: 784-128-128-10's (0.24 MFLOP) stays on the caller, 784-512-512-10's (1.3) splits.
    /// </summary>
    public long ParallelFlops { get; init; } = 1_000_000;
}
