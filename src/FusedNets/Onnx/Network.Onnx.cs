using FusedNets.Onnx;
using FusedNets.Persistence;
using Google.Protobuf;

namespace FusedNets;

// ONNX export: the graph is built in OnnxExporter; docs/model-files.md describes it.
public abstract partial class Network
{
    /// <summary>
    /// Writes the network as an ONNX model (opset 17) for ONNX Runtime and other ONNX readers: input "input"
    /// [batch, InputSize] (an image input: [batch, C, H, W]), output "output" [batch, OutputSize]. The file is replaced atomically.
    /// </summary>
    /// <param name="path">The file to write, conventionally ending in <c>.onnx</c>.</param>
    /// <param name="includeSoftmax">
    /// For classifiers, end with a Softmax so the output is class probabilities. Off by default: the output
    /// is then the logits, exactly what <see cref="Predict(ReadOnlySpan{float}, Span{float})"/> returns.
    /// </param>
    public void ExportOnnx(string path, bool includeSoftmax = false)
    {
        CheckSoftmaxOption(includeSoftmax);
        AtomicFile.Write(path, stream => ExportOnnx(stream, includeSoftmax));
    }

    /// <summary>Writes the ONNX model of <see cref="ExportOnnx(string, bool)"/> to <paramref name="stream"/>.</summary>
    /// <param name="stream">Where to write; left open.</param>
    /// <param name="includeSoftmax">For classifiers, end with a Softmax so the output is class probabilities.</param>
    public void ExportOnnx(Stream stream, bool includeSoftmax = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        CheckSoftmaxOption(includeSoftmax);
        PrepareEngine();
        SyncHostParameters();
        OnnxExporter.Build(Architecture, _parameters, includeSoftmax).WriteTo(stream);
    }

    private void CheckSoftmaxOption(bool includeSoftmax)
    {
        if (includeSoftmax && Architecture.Loss != Loss.SoftmaxCrossEntropy)
        {
            throw new ArgumentException($"{Architecture.Name} trains with {Architecture.Loss}, not softmax cross-entropy: it has no class probabilities to export.", nameof(includeSoftmax));
        }
    }
}
