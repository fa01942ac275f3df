namespace FusedNets.Backends;

/// <summary>
/// What a backend does for one network: run batches forward, take training steps, and hold the parameters
/// and the optimizer's state buffers. <see cref="Network"/> validates every argument before calling in, so engines
/// assume well-formed spans (inputs: batch × InputSize, outputs: batch × OutputSize), labels in
/// [0, OutputSize), finite inputs and targets, and one call at a time (Network serializes them).
/// </summary>
/// <remarks>
/// Classification passes <c>labels</c> (one int per sample) and an empty <c>targets</c>; regression passes
/// <c>targets</c> (batch × OutputSize) and an empty <c>labels</c>.
/// </remarks>
internal interface INetworkEngine : IDisposable
{
    /// <summary>The backend this engine runs on (never <see cref="FusedNets.Backend.Auto"/>).</summary>
    Backend Backend { get; }

    /// <summary>The device, in words, such as "NVIDIA H100" or "CPU (AVX-512, 2 threads)".</summary>
    string DeviceName { get; }

    /// <summary>Runs <paramref name="batch"/> samples forward and writes the last layer's activations.</summary>
    void Predict(ReadOnlySpan<float> inputs, Span<float> outputs, int batch);

    /// <summary>One optimizer step on the batch, with <paramref name="step"/>'s rule; returns the batch's mean loss before the step.</summary>
    /// <remarks>
    /// A step must never leave a non-finite value behind: when the loss or any updated parameter or moment
    /// is NaN or infinite, TrainBatch returns <see cref="float.NaN"/> and leaves parameters and moments exactly
    /// as they were before the step (bit for bit). <see cref="Network"/> turns that into a
    /// <see cref="TrainingDivergedException"/>. The engine applies the rule to whatever its state buffers hold:
    /// <see cref="Network"/> decides when they start afresh.
    /// </remarks>
    float TrainBatch(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, int batch, OptimizerStep step);

    /// <summary>The loss's gradient with respect to the inputs (batch × InputSize), without changing parameters; returns the mean loss.</summary>
    float InputGradient(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, int batch, Span<float> inputGradient);

    /// <summary>The per-sample losses of a batch (used by evaluation), written to <paramref name="losses"/>, and the outputs.</summary>
    void Evaluate(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, int batch, Span<float> outputs, Span<float> losses);

    /// <summary>
    /// For a network that standardizes its input (<see cref="NetworkArchitecture.StandardizesInput"/>): each feature's
    /// mean and standard deviation (InputSize each, a channel's repeated over its pixels). Until set, 0 and 1. Every entry
    /// point then takes raw features, and the input gradient is with respect to them.
    /// </summary>
    void SetStandardization(ReadOnlySpan<float> mean, ReadOnlySpan<float> standardDeviation);

    /// <summary>
    /// Interval bound propagation (docs/research.md): bounds of the activations of layer <paramref name="layers"/> − 1
    /// (batch × its units) for every input in the boxes [<paramref name="lower"/>, <paramref name="upper"/>] (batch ×
    /// InputSize, lower ≤ upper), sound for every backend's float forward pass and for exact arithmetic.
    /// <paramref name="layers"/> is at least 1.
    /// </summary>
    void IntervalBounds(ReadOnlySpan<float> lower, ReadOnlySpan<float> upper, int batch, int layers, Span<float> outputLower, Span<float> outputUpper);

    /// <summary>
    /// The vector-Jacobian product vᵀ ∂outputs/∂inputs for each sample, v its row of <paramref name="outputGradient"/>
    /// (batch × OutputSize): the backward pass seeded with v in place of the loss's gradient. Parameters unchanged.
    /// </summary>
    void VectorJacobianProduct(ReadOnlySpan<float> inputs, ReadOnlySpan<float> outputGradient, int batch, Span<float> inputGradient);

    /// <summary>
    /// One optimizer step of certified training on a classifier's batch (<see cref="CertifiedStep"/>), with the rule of
    /// <paramref name="step"/> as <see cref="TrainBatch"/> takes it; returns the batch's mean certified loss before the
    /// step, or <see cref="float.NaN"/> with nothing changed when the step goes non-finite, as <see cref="TrainBatch"/>.
    /// </summary>
    float TrainBatchCertified(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, int batch, CertifiedStep certified, OptimizerStep step);

    /// <summary>Copies the flat parameter vector (see <see cref="NetworkArchitecture"/>) out.</summary>
    void ReadParameters(Span<float> destination);

    /// <summary>Replaces the flat parameter vector; masked weights must already be zero.</summary>
    void WriteParameters(ReadOnlySpan<float> source);

    /// <summary>Copies the first moments (SGD's velocity, Adam's exp_avg), in the layout of the parameters, out.</summary>
    void ReadMomentum(Span<float> destination);

    /// <summary>Replaces the first moments.</summary>
    void WriteMomentum(ReadOnlySpan<float> source);

    /// <summary>Copies the second moments (Adam's exp_avg_sq), in the layout of the parameters, out: zeros before any rule kept them.</summary>
    void ReadSecondMoment(Span<float> destination);

    /// <summary>Replaces the second moments.</summary>
    void WriteSecondMoment(ReadOnlySpan<float> source);

    /// <summary>
    /// Replaces layer <paramref name="layer"/>'s weight mask (null: every weight trains), as pruning does between steps;
    /// from the next step on, its masked weights get no gradient. The caller then writes parameters and momentum that
    /// are zero where the mask is.
    /// </summary>
    void SetMask(int layer, float[]? mask);
}
