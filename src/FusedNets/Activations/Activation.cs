namespace FusedNets;

/// <summary>
/// Elementwise activations. Each lives in one file of <c>src/FusedNets/Activations</c>, its kernel type (such as
/// <see cref="Generated.ReluKernel"/>) holding its single-precision rule, its vector form, its double-precision
/// reference and its ONNX nodes; <see cref="Activations"/> is the table that maps this enum to them.
/// </summary>
public enum Activation
{
    /// <summary>y = z.</summary>
    Identity,
    /// <summary>y = max(z, 0).</summary>
    Relu,
    /// <summary>y = z for z &gt; 0, else 0.01 z.</summary>
    LeakyRelu,
    /// <summary>y = tanh(z).</summary>
    Tanh,
    /// <summary>y = 1 / (1 + exp(-z)).</summary>
    Sigmoid,
    /// <summary>The tanh approximation of GELU (PyTorch's approximate="tanh").</summary>
    Gelu,
    /// <summary>y = log(1 + exp(z)).</summary>
    Softplus,
}
