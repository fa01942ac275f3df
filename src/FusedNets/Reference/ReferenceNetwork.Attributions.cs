namespace FusedNets.Reference;

// The backward pass seeded with a chosen dL/dy, for attributions of one output.
internal sealed partial class ReferenceNetwork
{
    /// <summary>vᵀ ∂y/∂x for each sample: the backward pass from dL/dy = <paramref name="outputGradient"/> (B, OutputSize) to the inputs (B, InputSize).</summary>
    public double[] VectorJacobianProduct(ReadOnlySpan<double> inputs, ReadOnlySpan<double> outputGradient, int batch)
    {
        CheckInputs(inputs, batch);
        if (outputGradient.Length != batch * _architecture.OutputSize)
        {
            throw new ArgumentException($"Expected {batch} x {_architecture.OutputSize} output gradients, got {outputGradient.Length}.", nameof(outputGradient));
        }

        LayerValues[] saved = RunForward(inputs, batch);
        double[] dy = outputGradient.ToArray();
        var unused = new double[_architecture.ParameterCount];
        for (int l = saved.Length - 1; l >= 0; l--)
        {
            dy = LayerBackward(l, saved[l], dy, batch, unused);
        }

        return dy;
    }
}
