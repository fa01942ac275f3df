namespace FusedNets;

/// <summary>
/// One step of certified training as the engines take it (Gowal et al. 2018): the loss is κ times the ordinary loss
/// plus (1 − κ) times the interval loss over the boxes [x − ε, x + ε] ∩ [clipMin, clipMax] (<see cref="IntervalBoxes"/>).
/// </summary>
internal readonly record struct CertifiedStep(float Epsilon, float Kappa, float ClipMin, float ClipMax);
