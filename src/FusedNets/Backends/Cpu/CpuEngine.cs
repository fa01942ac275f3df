namespace FusedNets.Backends.Cpu;

// Placeholder so the tree compiles while the SIMD engine is written (see the CPU backend work).
internal sealed class CpuEngine(NetworkArchitecture architecture, IReadOnlyList<float[]?> masks) : INetworkEngine
{
    public Backend Backend => Backend.Cpu;
    public string DeviceName => "CPU";
    public void Predict(ReadOnlySpan<float> inputs, Span<float> outputs, int batch) => throw new NotSupportedException(architecture.Name + masks.Count);
    public float TrainBatch(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, int batch, SgdStep sgd) => throw new NotSupportedException();
    public float InputGradient(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, int batch, Span<float> inputGradient) => throw new NotSupportedException();
    public void Evaluate(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, int batch, Span<float> outputs, Span<float> losses) => throw new NotSupportedException();
    public void ReadParameters(Span<float> destination) { }
    public void WriteParameters(ReadOnlySpan<float> source) { }
    public void ReadMomentum(Span<float> destination) { }
    public void WriteMomentum(ReadOnlySpan<float> source) { }
    public void Dispose() { }
}
