using FusedNets.Generated;

namespace FusedNets.Backends;

/// <summary>An engine that trains physics-informed networks: it hands out its <see cref="IPdeEngine"/>.</summary>
internal interface IPdeEngineSource
{
    /// <summary>This engine's physics-informed part for <paramref name="program"/>: made on first use, owned and disposed by the engine, sharing its parameters and optimizer state.</summary>
    IPdeEngine Pde(PdeProgram program);
}

/// <summary>
/// What a backend does for physics-informed training (docs/pde.md): carry u and its derivatives with respect to the
/// inputs forward through the network at every term's points, evaluate the terms, and take the loss's gradient with
/// respect to the parameters back through that propagation. <see cref="Network"/> validates arguments before calling in.
/// </summary>
/// <remarks>
/// The loss is Σ_t weight_t · mean over term t's points of r_t², r_t the term's method. Each call writes every term's
/// mean of r² into <c>termLosses</c> and returns the weighted sum.
/// </remarks>
internal interface IPdeEngine
{
    /// <summary>
    /// One optimizer step on the batch; returns the loss before it. When the loss or any updated parameter or optimizer
    /// state is not finite, returns <see cref="float.NaN"/> and leaves parameters and state exactly as they were.
    /// </summary>
    /// <exception cref="NotSupportedException">The engine does not apply <paramref name="step"/>'s rule in these passes.</exception>
    float TrainStep(PdeBatch batch, OptimizerStep step, Span<double> termLosses);

    /// <summary>The loss's gradient with respect to the parameters (the flat layout, zero at masked weights) into <paramref name="gradient"/>; parameters unchanged.</summary>
    float Gradient(PdeBatch batch, Span<float> gradient, Span<double> termLosses);

    /// <summary>The loss alone.</summary>
    float Loss(PdeBatch batch, Span<double> termLosses);

    /// <summary>
    /// What the network gives at term <paramref name="term"/>'s points: u (count), the first derivatives (count × inputs,
    /// sample-major) if the term reads them, and its second derivatives (count × its second-derivative count).
    /// </summary>
    void Derivatives(PdeBatch batch, int term, Span<float> values, Span<float> firstDerivatives, Span<float> secondDerivatives);
}
